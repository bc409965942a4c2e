"""DynamoDB round trips per request: as few as the operation allows, and none for bad input."""

from __future__ import annotations

from typing import Any

import pytest

from tests.unit.conftest import Api
from users_api.users.listing import LIST_SHARDS

LIST = ["Query"] * LIST_SHARDS + ["BatchGetItem"]
KEY = {"Idempotency-Key": "k-1"}


@pytest.fixture
def seeded(api: Api, calls: list[str]) -> Api:
    api("POST", "/users", body={"user_id": "01", "name": "Joy", "email": "joy@example.com"})
    api("POST", "/users", body={"user_id": "02", "name": "Ann"})
    api("POST", "/users", body={"user_id": "09", "name": "Replayed"}, headers=KEY)
    calls.clear()
    return api


@pytest.mark.parametrize(
    ("method", "path", "kwargs", "status", "operations"),
    [
        ("POST", "/users", {"body": {"user_id": "03", "name": "N"}}, 201, ["PutItem"]),
        (
            "POST",
            "/users",
            {"body": {"user_id": "03", "name": "N", "email": "n@x.io"}},
            201,
            ["TransactWriteItems"],
        ),
        # Idempotency-Key: claim the key, then the user and the key's answer in one transaction.
        (
            "POST",
            "/users",
            {"body": {"user_id": "03", "name": "N"}, "headers": {"Idempotency-Key": "k-2"}},
            201,
            ["PutItem", "TransactWriteItems"],
        ),
        # The same key and body again: the failed claim returns the stored answer, and one read
        # finds the user it created still there (a replay never points at a 404).
        (
            "POST",
            "/users",
            {"body": {"user_id": "09", "name": "Replayed"}, "headers": KEY},
            201,
            ["PutItem", "GetItem"],
        ),
        ("GET", "/users", {"query": {"id": "01"}}, 200, ["GetItem"]),
        ("GET", "/users/01", {}, 200, ["GetItem"]),
        # Read-your-writes lookup: the uniqueness record, then the user, both consistent.
        ("GET", "/users", {"query": {"email": "joy@example.com"}}, 200, ["GetItem", "GetItem"]),
        ("GET", "/users", {"query": {"limit": "1"}}, 200, LIST),
        ("GET", "/users", {}, 200, LIST),
        ("GET", "/users", {"query": {"created_after": "2020-01-01"}}, 200, LIST),
        (
            "PUT",
            "/users/01",
            {"body": {"name": "J", "email": "joy@example.com"}},
            200,
            ["UpdateItem"],
        ),
        ("PUT", "/users/02", {"body": {"name": "A"}}, 200, ["UpdateItem"]),
        ("PATCH", "/users/01", {"body": {"name": "J"}}, 200, ["UpdateItem"]),
        ("PATCH", "/users/01", {"body": {}}, 200, ["GetItem"]),  # a no-op patch reads only
        ("DELETE", "/users/02", {}, 204, ["DeleteItem"]),
        # The email changes: the conditional update returns the stored item, a transaction moves it.
        (
            "PUT",
            "/users/01",
            {"body": {"name": "J", "email": "new@example.com"}},
            200,
            ["UpdateItem", "TransactWriteItems"],
        ),
        (
            "PATCH",
            "/users/02",
            {"body": {"email": "a@example.com"}},
            200,
            ["UpdateItem", "TransactWriteItems"],
        ),
        ("DELETE", "/users/01", {}, 204, ["DeleteItem", "TransactWriteItems"]),
        # Rejected before any call.
        ("POST", "/users", {"body": {"name": ""}}, 400, []),
        ("POST", "/users", {"body": {"name": "N"}, "headers": {"Idempotency-Key": ""}}, 400, []),
        ("GET", "/users", {"query": {"limit": "0"}}, 400, []),
        ("GET", "/users", {"query": {"created_before": "yesterday"}}, 400, []),
        ("GET", "/users", {"query": {"next_token": "forged.token"}}, 400, []),
        ("GET", "/users/..%2F..%2Fetc", {}, 404, []),
        ("GET", "/nowhere", {}, 404, []),
    ],
)
def test_round_trips(
    seeded: Api,
    calls: list[str],
    method: str,
    path: str,
    kwargs: dict[str, Any],
    status: int,
    operations: list[str],
) -> None:
    result = seeded(method, path, **kwargs)

    assert result.status == status, result.body
    assert calls == operations
