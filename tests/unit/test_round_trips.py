"""DynamoDB round trips per request: one wherever the operation allows it."""

from __future__ import annotations

from typing import Any

import pytest

from tests.unit.conftest import Api


@pytest.fixture
def seeded(api: Api, calls: list[str]) -> Api:
    api("POST", "/users", body={"user_id": "01", "name": "Joy", "email": "joy@example.com"})
    api("POST", "/users", body={"user_id": "02", "name": "Ann"})
    calls.clear()
    return api


@pytest.mark.parametrize(
    ("method", "path", "kwargs", "operations"),
    [
        ("POST", "/users", {"body": {"user_id": "03", "name": "N"}}, ["PutItem"]),
        (
            "POST",
            "/users",
            {"body": {"user_id": "03", "name": "N", "email": "n@x.io"}},
            ["TransactWriteItems"],
        ),
        ("GET", "/users", {"query": {"id": "01"}}, ["GetItem"]),
        ("GET", "/users/01", {}, ["GetItem"]),
        ("GET", "/users", {"query": {"email": "joy@example.com"}}, ["Query"]),
        ("GET", "/users", {"query": {"limit": "1"}}, ["Scan"]),
        ("GET", "/users", {}, ["Scan"]),
        ("PUT", "/users/01", {"body": {"name": "J", "email": "joy@example.com"}}, ["UpdateItem"]),
        ("PUT", "/users/02", {"body": {"name": "A"}}, ["UpdateItem"]),
        ("PATCH", "/users/01", {"body": {"name": "J"}}, ["UpdateItem"]),
        ("DELETE", "/users/02", {}, ["DeleteItem"]),
        # The email changes: the conditional update returns the stored item, a transaction moves it.
        (
            "PUT",
            "/users/01",
            {"body": {"name": "J", "email": "new@example.com"}},
            ["UpdateItem", "TransactWriteItems"],
        ),
        (
            "PATCH",
            "/users/02",
            {"body": {"email": "a@example.com"}},
            ["UpdateItem", "TransactWriteItems"],
        ),
        ("DELETE", "/users/01", {}, ["DeleteItem", "TransactWriteItems"]),
        # Rejected before any call.
        ("POST", "/users", {"body": {"name": ""}}, []),
        ("GET", "/users", {"query": {"limit": "0"}}, []),
        ("GET", "/nowhere", {}, []),
    ],
)
def test_round_trips(
    seeded: Api,
    calls: list[str],
    method: str,
    path: str,
    kwargs: dict[str, Any],
    operations: list[str],
) -> None:
    result = seeded(method, path, **kwargs)

    assert result.status < 500
    assert calls == operations
