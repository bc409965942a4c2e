"""The users API's schema: pydantic models built from the record's fields (users.model.User).

`RULES` gives each rule a field names its type; everything else comes from the record. Imported
on first use by the routes that take input, and by the OpenAPI document.
"""

from __future__ import annotations

from typing import Annotated, Any, Final

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, RootModel, StringConstraints

from users_api.paging import MAX_TOKEN_LENGTH, TOKEN_PATTERN
from users_api.rules import (
    DEFAULT_PAGE_SIZE,
    EMAIL_PATTERN,
    MAX_EMAIL_LENGTH,
    MAX_NAME_LENGTH,
    MAX_PAGE_SIZE,
    NAME_PATTERN,
    USER_ID_PATTERN,
    check_name,
    normalise_email,
    normalise_timestamp,
)
from users_api.schema import input_model, output_model, patch_model
from users_api.users.model import User

# Each type carries an example: documentation, and what schemathesis's examples phase sends.
UserId = Annotated[str, StringConstraints(pattern=USER_ID_PATTERN), Field(examples=["01"])]
# The schema's pattern is the check (rules.py): what the document says is what is enforced.
Name = Annotated[
    str,
    AfterValidator(check_name),
    Field(
        description=f"1-{MAX_NAME_LENGTH} characters, no control characters; stored without"
        " surrounding whitespace",
        examples=["Joy"],
        json_schema_extra={"pattern": NAME_PATTERN},
    ),
]
Email = Annotated[
    str,
    AfterValidator(normalise_email),
    Field(
        description=f"An address of at most {MAX_EMAIL_LENGTH} characters; stored trimmed and"
        " lower-case, unique regardless of case",
        examples=["joy@example.com"],
        json_schema_extra={"pattern": EMAIL_PATTERN, "maxLength": MAX_EMAIL_LENGTH},
    ),
]

# The type of each rule a field of users.model.User names.
RULES: Final[dict[str, Any]] = {"user_id": UserId, "name": Name, "email": Email}

UserCreate = input_model(
    User, RULES, "UserCreate", "`POST /users`: `user_id` is generated when absent.", with_key=True
)
UserReplace = input_model(
    User,
    RULES,
    "UserReplace",
    "`PUT /users/{user_id}`: the mutable fields; an absent email removes it.",
)
UserPatch = patch_model(
    User,
    RULES,
    "UserPatch",
    "`PATCH /users/{user_id}`: a JSON merge patch (RFC 7396) of the mutable fields.\n\n"
    'A member that is absent stays as it is; `"email": null` removes the email. `name` is\n'
    'required on a user, so `"name": null` is invalid.',
)
UserModel = output_model(
    User,
    RULES,
    "User",
    "A stored user, as every route returns it (served from `users.model.User`, drift-tested).",
)


class UserPage(BaseModel):
    """`GET /users`: one page of users and the token for the next page (null on the last)."""

    items: list[UserModel]  # type: ignore[valid-type]
    count: int
    next_token: str | None


class UserOrPage(RootModel[UserModel | UserPage]):  # type: ignore[valid-type]
    """`GET /users`: one user (`?id=`, `?email=`) or a page of users."""


# What normalise_timestamp reads (it also takes other ISO-8601 forms, e.g. without an offset).
Timestamp = Annotated[
    str,
    AfterValidator(normalise_timestamp),
    Field(
        examples=["2026-11-01"],
        json_schema_extra={"anyOf": [{"format": "date"}, {"format": "date-time"}]},
    ),
]
# A token of the shape `next_token`s have; only the ones this API issued continue a listing.
PageToken = Annotated[
    str,
    StringConstraints(min_length=1, max_length=MAX_TOKEN_LENGTH),
    Field(json_schema_extra={"pattern": TOKEN_PATTERN}),
]


class ListQuery(BaseModel):
    """`GET /users` paging and date-window parameters, as query strings.

    Users come newest first; `created_after` is inclusive and `created_before` exclusive, so
    consecutive windows [a, b), [b, c) never share a user.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    limit: Annotated[int, Field(ge=1, le=MAX_PAGE_SIZE, examples=[2])] = DEFAULT_PAGE_SIZE
    next_token: PageToken | None = None
    created_after: Timestamp | None = Field(
        default=None,
        description="A date (its midnight UTC) or an RFC 3339 date-time; users created at or"
        " after it (inclusive)",
    )
    created_before: Timestamp | None = Field(
        default=None,
        description="A date (its midnight UTC) or an RFC 3339 date-time; users created before"
        " it (exclusive)",
    )
