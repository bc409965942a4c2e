"""The API's schema: pydantic models for what clients send and what they get back."""

from __future__ import annotations

from typing import Annotated, Any, TypeVar

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
)

from users_api.errors import ValidationFailed
from users_api.rules import (
    DEFAULT_PAGE_SIZE,
    MAX_EMAIL_LENGTH,
    MAX_NAME_LENGTH,
    MAX_PAGE_SIZE,
    USER_ID_PATTERN,
    check_name,
    normalise_email,
    normalise_timestamp,
)

UserId = Annotated[str, StringConstraints(pattern=USER_ID_PATTERN)]
Name = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=MAX_NAME_LENGTH),
    AfterValidator(check_name),
]
# The schema says what the check does: normalise_email accepts a dotted domain, lower-cases.
Email = Annotated[
    str,
    AfterValidator(normalise_email),
    Field(json_schema_extra={"format": "email", "maxLength": MAX_EMAIL_LENGTH}),
]


class _Input(BaseModel):
    """Client input: unknown fields are rejected and no type is coerced."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


class UserCreate(_Input):
    """`POST /users`: `user_id` is generated when absent."""

    user_id: UserId | None = None
    name: Name
    email: Email | None = None


class UserReplace(_Input):
    """`PUT /users/{user_id}`: the mutable fields; an absent email removes it."""

    name: Name
    email: Email | None = None


class UserPatch(_Input):
    """`PATCH /users/{user_id}`: a JSON merge patch (RFC 7396) of the mutable fields.

    A member that is absent stays as it is; `"email": null` removes the email. `name` is
    required on a user, so `"name": null` is invalid.
    """

    name: Name | None = None
    email: Email | None = None

    def changes(self) -> dict[str, str | None]:
        return {field: getattr(self, field) for field in self.model_fields_set}


class User(BaseModel):
    """A stored user, as every route returns it (served from `store.UserRecord`, drift-tested)."""

    user_id: UserId
    name: str
    email: str | None = None
    created_at: str = Field(description="ISO-8601 UTC, set by the server on create")
    updated_at: str = Field(description="ISO-8601 UTC, set by the server on every change")
    version: int = Field(ge=1, description="1 on create, +1 on each update; the ETag")


class UserPage(BaseModel):
    """`GET /users`: one page of users and the token for the next page (null on the last)."""

    items: list[User]
    count: int
    next_token: str | None


Timestamp = Annotated[str, AfterValidator(normalise_timestamp)]


class ListQuery(BaseModel):
    """`GET /users` paging and date-window parameters, as query strings.

    Users come newest first; `created_after` is inclusive and `created_before` exclusive, so
    consecutive windows [a, b), [b, c) never share a user.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    limit: Annotated[int, Field(ge=1, le=MAX_PAGE_SIZE)] = DEFAULT_PAGE_SIZE
    next_token: Annotated[str, StringConstraints(min_length=1, max_length=512)] | None = None
    created_after: Timestamp | None = Field(
        default=None, description="ISO-8601; users created at or after this time (inclusive)"
    )
    created_before: Timestamp | None = Field(
        default=None, description="ISO-8601; users created before this time (exclusive)"
    )


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
