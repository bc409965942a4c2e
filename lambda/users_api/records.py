"""Records: a resource's stored fields, declared once, as a dataclass.

A record class lists its fields, each with its role:

- `key(rule)`: the item's key; a client may choose it on create (else the server does);
- `writable(rule)`: a field clients set, required or optional (`optional=True`: None when absent;
  `unique=True`: one special case a repository handles itself, such as the email's uniqueness
  record);
- `server(description)`: set by the server only (times, version).

Everything else derives from that one list: the DynamoDB item (`to_item` / `from_item`), the JSON
a route answers (`as_json`), and the pydantic models of the API's schema (`users_api.schema`
builds them from the same fields, naming each `rule`). Nothing here imports pydantic: the read
path serves records without it.

    @dataclass(slots=True, kw_only=True)
    class Note(Record):
        note_id: str = key("note_id")
        text: str = writable("text")
        created_at: str = server("ISO-8601 UTC, set by the server on create")
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any, ClassVar, Final, Self

Item = dict[str, Any]

ROLE: Final = "role"
KEY: Final = "key"
WRITABLE: Final = "writable"
SERVER: Final = "server"


def key(rule: str) -> Any:
    """The record's key: validated by `rule`; a client may choose it on create."""
    return dataclasses.field(metadata={ROLE: KEY, "rule": rule})


def writable(
    rule: str, *, optional: bool = False, unique: bool = False, description: str = ""
) -> Any:
    """A field clients set, validated by `rule` (users_api.schema names each rule's type).

    `optional`: None when absent (a merge patch's null removes it). `unique`: the repository
    keeps the value unique itself (it is written by transaction, not by a plain SET).
    """
    metadata = {ROLE: WRITABLE, "rule": rule, "unique": unique, "description": description}
    if optional:
        return dataclasses.field(default=None, metadata=metadata)
    return dataclasses.field(metadata=metadata)


def server(description: str, **constraints: Any) -> Any:
    """A field only the server sets; `constraints` are JSON Schema keywords (e.g. ge=1)."""
    return dataclasses.field(
        metadata={ROLE: SERVER, "description": description, "constraints": constraints}
    )


class Record:
    """Base of record dataclasses: the item mapping and JSON shape from the declared fields."""

    __slots__ = ()
    # Filled per subclass on first use: (name, role) of each field, in declaration order.
    _fields: ClassVar[tuple[tuple[str, str], ...]] = ()

    @classmethod
    def fields(cls) -> tuple[tuple[str, str], ...]:
        """(name, role) of every declared field, in order."""
        if "_fields" not in cls.__dict__:
            cls._fields = tuple(
                (f.name, str(f.metadata.get(ROLE, SERVER)))
                for f in dataclasses.fields(cls)  # type: ignore[arg-type]
            )
        return cls._fields

    @classmethod
    def declared(cls, *roles: str) -> list[dataclasses.Field[Any]]:
        """The declared fields with one of these roles, in order."""
        return [
            f
            for f in dataclasses.fields(cls)  # type: ignore[arg-type]
            if f.metadata.get(ROLE, SERVER) in roles
        ]

    def as_json(self) -> dict[str, Any]:
        """The record as the API answers it (an absent optional field is null)."""
        return {name: getattr(self, name) for name, _ in self.fields()}

    def to_item(self) -> Item:
        """The record's DynamoDB attributes (an absent optional field is no attribute)."""
        item: Item = {}
        for name, _ in self.fields():
            value = getattr(self, name)
            if value is not None:
                item[name] = attribute(value)
        return item

    @classmethod
    def from_item(cls, item: Mapping[str, Any]) -> Self:
        values = {name: value(item[name]) for name, _ in cls.fields() if name in item}
        return cls(**values)


def optional(field: dataclasses.Field[Any]) -> bool:
    """A field declared `optional` (None when absent; a merge patch's null removes it)."""
    return field.default is None


def now_iso() -> str:
    """Now as server-set times are stored: ISO-8601 UTC, milliseconds, `Z`."""
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def attribute(value: str | int | bool) -> dict[str, Any]:
    """A Python value as a DynamoDB attribute value."""
    if isinstance(value, bool):
        return {"BOOL": value}
    if isinstance(value, int):
        return {"N": str(value)}
    return {"S": value}


def value(attribute_value: Mapping[str, Any]) -> Any:
    """A DynamoDB attribute value (S, N of an int, BOOL) as a Python value."""
    if "S" in attribute_value:
        return attribute_value["S"]
    if "N" in attribute_value:
        return int(attribute_value["N"])
    if "BOOL" in attribute_value:
        return bool(attribute_value["BOOL"])
    raise ValueError(f"unsupported attribute value {sorted(attribute_value)}")
