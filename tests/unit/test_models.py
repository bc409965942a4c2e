"""The pydantic models are the schema: what they accept, normalise and reject."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import fields
from pathlib import Path

import pytest

from users_api.errors import ValidationFailed
from users_api.schema import validate
from users_api.users.model import User as UserRecord
from users_api.users.schema import UserCreate, UserModel, UserPatch

LAMBDA_DIR = Path(__file__).resolve().parents[2] / "lambda"


@pytest.mark.parametrize(
    ("email", "stored"),
    [("Joy@Example.COM", "joy@example.com"), (" a.b+c@sub.example.io ", "a.b+c@sub.example.io")],
)
def test_valid_emails_are_stored_lower_case(email: str, stored: str) -> None:
    assert validate(UserCreate, {"name": "J", "email": email}).email == stored


@pytest.mark.parametrize(
    "email",
    [
        "",
        "joy",
        "joy@",
        "@example.com",
        "joy@example",
        "jo y@example.com",
        "a..b@example.com",
        ".a@example.com",
        "a@-example.com",
        "a@example.c",
        f"a@{'b' * 250}.com",
        f" {'a' * 242}@example.com",  # 255 characters as sent
    ],
)
def test_invalid_emails_are_rejected(email: str) -> None:
    with pytest.raises(ValidationFailed) as raised:
        validate(UserCreate, {"name": "J", "email": email})
    assert raised.value.details["fields"][0]["field"] == "email"


@pytest.mark.parametrize("user_id", ["a", "A-z_09", "x" * 64])
def test_user_ids_of_the_allowed_alphabet_are_accepted(user_id: str) -> None:
    assert validate(UserCreate, {"user_id": user_id, "name": "J"}).user_id == user_id


def test_name_length_counts_after_trimming() -> None:
    assert validate(UserCreate, {"name": f"  {'x' * 200}  "}).name == "x" * 200


def test_types_are_not_coerced() -> None:
    with pytest.raises(ValidationFailed) as raised:
        validate(UserCreate, {"name": ["J"], "user_id": 5, "email": 1})
    assert {f["field"] for f in raised.value.details["fields"]} == {"name", "user_id", "email"}


def test_patch_records_which_members_were_sent() -> None:
    assert validate(UserPatch, {"email": None}).changes() == {"email": None}
    assert validate(UserPatch, {"name": " N "}).changes() == {"name": "N"}
    assert validate(UserPatch, {}).changes() == {}


def test_the_stored_record_has_exactly_the_schemas_fields_in_order() -> None:
    assert [f.name for f in fields(UserRecord)] == list(UserModel.model_fields)


def test_importing_the_handler_loads_the_compiled_core_but_builds_no_model() -> None:
    # A cold start that serves a read never pays for pydantic's schema machinery; it does load
    # pydantic_core, so a package built for the wrong platform fails at init.
    code = "import json, sys, users_api.app; print(json.dumps(sorted(sys.modules)))"
    env = {**os.environ, "PYTHONPATH": str(LAMBDA_DIR)}
    out = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
    )

    loaded = set(json.loads(out.stdout))
    assert "pydantic_core._pydantic_core" in loaded
    assert (
        not {
            "pydantic.main",
            "pydantic._internal._generate_schema",
            "users_api.schema",
            "users_api.users.schema",
        }
        & loaded
    )
