"""The API's pydantic models, derived from records (users_api.records), and validation.

A resource declares its fields once, on its record; `input_model`, `patch_model` and
`output_model` build the models of create/replace bodies, merge patches and answers from those
fields, taking each field's type from the resource's `rules` (rule name -> annotated type).
The models are the API's schema: the OpenAPI document takes their JSON Schema.

Importing this module imports pydantic: only routes that take input (on first use) and the
OpenAPI document do.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, get_type_hints

from pydantic import BaseModel, ConfigDict, Field, ValidationError, create_model
from pydantic.json_schema import SkipJsonSchema

from users_api.errors import ValidationFailed
from users_api.records import KEY, ROLE, SERVER, WRITABLE, Record, optional

Rules = Mapping[str, Any]


def _absent_is_not_null(schema: dict[str, Any]) -> None:
    """An optional member is absent unless sent: no `default: null` in the schema (a generated
    client would send the default, or type the member as required; and in a merge patch an
    absent member and a null one mean different things)."""
    for member in schema.get("properties", {}).values():
        if "default" in member and member["default"] is None:
            del member["default"]


class Input(BaseModel):
    """Client input: unknown fields are rejected and no type is coerced."""

    model_config = ConfigDict(
        extra="forbid", strict=True, frozen=True, json_schema_extra=_absent_is_not_null
    )


class Patch(Input):
    """A JSON merge patch (RFC 7396) of a record's writable fields."""

    def changes(self) -> dict[str, Any]:
        """The members the patch names, with their values (None: remove)."""
        return {field: getattr(self, field) for field in self.model_fields_set}


def input_model(
    record: type[Record], rules: Rules, name: str, doc: str, *, with_key: bool = False
) -> type[Input]:
    """The body of a create (`with_key`: the client may choose the key) or a replace."""
    definitions: dict[str, Any] = {}
    for field in record.declared(KEY, WRITABLE):
        kind = rules[field.metadata["rule"]]
        if field.metadata[ROLE] == KEY:
            if with_key:
                definitions[field.name] = (kind | None, None)
        elif optional(field):
            definitions[field.name] = (kind | None, None)
        else:
            definitions[field.name] = (kind, ...)
    return create_model(name, __base__=Input, __doc__=doc, **definitions)


def patch_model(record: type[Record], rules: Rules, name: str, doc: str) -> type[Patch]:
    """A merge patch of the writable fields: each member optional; null (remove) only for an
    optional field. The model still reads a null for a required one, so the route can say
    that it cannot be removed; the schema does not offer it."""
    unlisted_null: Any = SkipJsonSchema[None]  # type: ignore[misc]  # pydantic's marker
    definitions: dict[str, Any] = {
        field.name: (
            rules[field.metadata["rule"]] | (None if optional(field) else unlisted_null),
            None,
        )
        for field in record.declared(WRITABLE)
    }
    return create_model(name, __base__=Patch, __doc__=doc, **definitions)


def output_model(record: type[Record], rules: Rules, name: str, doc: str) -> type[BaseModel]:
    """The record as routes answer it (`Record.as_json`): the key by its rule, the rest by type."""
    hints = get_type_hints(record)
    definitions: dict[str, Any] = {}
    for field in record.declared(KEY, WRITABLE, SERVER):
        role = field.metadata.get(ROLE, SERVER)
        if role == KEY:
            definitions[field.name] = (rules[field.metadata["rule"]], ...)
        elif role == WRITABLE:
            default = None if optional(field) else ...
            definitions[field.name] = (hints[field.name], default)
        else:
            description = field.metadata.get("description") or None
            constraints = field.metadata.get("constraints", {})
            definitions[field.name] = (
                hints[field.name],
                Field(description=description, **constraints),
            )
    return create_model(name, __doc__=doc, **definitions)


def field_errors(error: ValidationError) -> list[dict[str, str]]:
    """Each bad field by name, with pydantic's message and error type."""
    fields = []
    for item in error.errors(include_url=False, include_context=False, include_input=False):
        location = ".".join(str(part) for part in item["loc"]) or "body"
        message = item["msg"]
        if item["type"] == "extra_forbidden":
            message = "Unknown field"
        elif message.startswith("Value error, "):
            message = message.removeprefix("Value error, ")
        fields.append({"field": location, "message": message, "type": item["type"]})
    return fields


Model = TypeVar("Model", bound=BaseModel)


def validate(model: type[Model], data: Any) -> Model:
    """`model` from `data`, or a 400 that lists each bad field."""
    try:
        return model.model_validate(data)
    except ValidationError as error:
        raise ValidationFailed(field_errors(error)) from None
