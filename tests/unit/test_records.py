"""A record's fields are declared once: its item, its JSON and its schemas all follow them."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from users_api.records import Record, attribute, key, server, value, writable
from users_api.schema import input_model, output_model, patch_model, validate
from users_api.users.model import User
from users_api.users.schema import RULES


@dataclass(slots=True, kw_only=True)
class Note(Record):
    note_id: str = key("user_id")
    text: str = writable("name")
    colour: str | None = writable("name", optional=True)
    created_at: str = server("when")
    pinned: int = server("how often", ge=0)


def test_item_and_json_derive_from_the_declared_fields() -> None:
    note = Note(note_id="n1", text="hi", created_at="t", pinned=2)

    assert note.to_item() == {
        "note_id": {"S": "n1"},
        "text": {"S": "hi"},
        "created_at": {"S": "t"},
        "pinned": {"N": "2"},
    }
    assert note.as_json() == {
        "note_id": "n1",
        "text": "hi",
        "colour": None,
        "created_at": "t",
        "pinned": 2,
    }
    assert Note.from_item({**note.to_item(), "unrelated": {"S": "x"}}) == note


def test_a_user_survives_its_item_round_trip() -> None:
    user = User(user_id="u", name="N", email="e@x.io", created_at="a", updated_at="b", version=3)

    assert User.from_item(user.to_item()) == user
    assert User.from_item({k: v for k, v in user.to_item().items() if k != "email"}).email is None


def test_schemas_derive_from_the_declared_fields() -> None:
    create = input_model(Note, RULES, "NoteCreate", "create", with_key=True)
    patch = patch_model(Note, RULES, "NotePatch", "patch")
    answer = output_model(Note, RULES, "Note", "a note")

    assert list(create.model_fields) == ["note_id", "text", "colour"]
    assert create.model_fields["text"].is_required()
    assert not create.model_fields["colour"].is_required()
    assert validate(patch, {"colour": None}).changes() == {"colour": None}
    schema = answer.model_json_schema()
    assert schema["properties"]["pinned"]["minimum"] == 0
    assert schema["required"] == ["note_id", "text", "created_at", "pinned"]


@pytest.mark.parametrize("python", ["s", 0, 7, True])
def test_attribute_values_round_trip(python: str | int | bool) -> None:
    assert value(attribute(python)) == python
