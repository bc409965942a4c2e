"""The user: its fields, declared once. Free of pydantic, so the read path serves users without it.

Each field's role and rule are all the rest needs: the DynamoDB item and the JSON a route answers
derive from this class (users_api.records), and so do the API's schemas for create, replace,
merge patch and the answer (users.schema, with pydantic, names the type of each `rule`). Adding
an optional field such as a phone number is one line here:

    phone: str | None = writable("name", optional=True)

(with a rule of its own, one more line in users.schema's RULES).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from users_api.records import Record, key, server, writable

# The users table's key schema and its list index (the Terraform `tables` map declares the same).
TABLE: Final = "users"
EMAILS_TABLE: Final = "emails"
USER_KEY: Final = "user_id"
SHARD_KEY: Final = "list_shard"
CREATED_KEY: Final = "created_key"


@dataclass(slots=True, kw_only=True)
class User(Record):
    """A stored user, as every route returns it.

    Treated as a value (changes go through `dataclasses.replace`); not frozen only because a
    frozen dataclass's __init__ costs 1 µs more per item, which a list page pays 11 times.
    """

    user_id: str = key("user_id")
    name: str = writable("name")
    # Unique across users: the repository keeps one record per address in the emails table.
    email: str | None = writable("email", optional=True, unique=True)
    created_at: str = server("ISO-8601 UTC, set by the server on create")
    updated_at: str = server("ISO-8601 UTC, set by the server on every change")
    version: int = server("1 on create, +1 on each update; the ETag", ge=1)

    @property
    def etag(self) -> str:
        return f'"{self.version}"'

    @property
    def created_key(self) -> str:
        """The list index's sort key: newest first, ties broken by id."""
        return f"{self.created_at}#{self.user_id}"
