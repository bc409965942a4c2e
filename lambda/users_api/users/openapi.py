"""What the users router's schema and parameter names mean in the OpenAPI document.

Built on first use (it imports pydantic and users.schema): see users.routes' `components`.
"""

from __future__ import annotations

from typing import Any

from pydantic import TypeAdapter

from users_api.routing import Components
from users_api.rules import DEFAULT_PAGE_SIZE
from users_api.users import schema


def _parameter_schema(field_schema: dict[str, Any]) -> dict[str, Any]:
    """A field's schema without its `null` branch (a parameter is absent, never null)."""
    branches = [b for b in field_schema.get("anyOf", []) if b.get("type") != "null"]
    rest = {k: v for k, v in field_schema.items() if k not in ("anyOf", "default", "title")}
    if len(branches) == 1:
        return {**branches[0], **rest}
    return rest


def _query_parameters() -> dict[str, dict[str, Any]]:
    listing = schema.ListQuery.model_json_schema(mode="validation")["properties"]
    parameters: dict[str, dict[str, Any]] = {
        "id": {
            "description": "Read the user with this `user_id`",
            "schema": TypeAdapter(schema.UserId).json_schema(),
        },
        "email": {
            "description": "Look the user up by email (case-insensitive; admin only with"
            " authorization)",
            "schema": TypeAdapter(schema.Email).json_schema(),
        },
    }
    for name, field_schema in listing.items():
        parameter = _parameter_schema(field_schema)
        description = parameter.pop("description", None)
        entry: dict[str, Any] = {"schema": parameter}
        if description:
            entry["description"] = description
        # No `default` in a parameter's schema: a generated client would send it on every call,
        # also with `id` or `email`, which take no paging parameter. The description says it.
        parameters[name] = entry
    parameters["limit"]["description"] = f"Users per page ({DEFAULT_PAGE_SIZE} when absent)"
    parameters["next_token"]["description"] = (
        "The previous page's `next_token`, with the same `created_after`/`created_before`"
        " (a token of this shape that this API did not issue for them is a 422)"
    )
    return parameters


def components() -> Components:
    return Components(
        schemas={
            "UserCreate": (schema.UserCreate, "validation"),
            "UserReplace": (schema.UserReplace, "validation"),
            "UserPatch": (schema.UserPatch, "validation"),
            "User": (schema.UserModel, "serialization"),
            "UserPage": (schema.UserPage, "serialization"),
            "UserOrPage": (schema.UserOrPage, "serialization"),
        },
        query=_query_parameters(),
        path={"user_id": {"schema": TypeAdapter(schema.UserId).json_schema()}},
    )
