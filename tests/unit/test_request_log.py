"""One structured log line per request (logger `users_api.request`), never a body, an email address
or a token. With Lambda's JSON log format (logging_config.log_format = "JSON") the `extra` fields
become top-level keys of the line; this formats records the same way and reads them back."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from typing import Any

import pytest

from tests.unit.conftest import Api
from users_api.users import UserRepository

FIELDS = {"request_id", "route_key", "method", "status", "latency_ms", "cold_start"}
STANDARD = set(vars(logging.LogRecord("n", 0, "p", 0, "m", None, None))) | {"message", "asctime"}


def as_json_line(record: logging.LogRecord) -> dict[str, Any]:
    """The line Lambda's JSON format writes: its fields, and every `extra` at the top level."""
    line: dict[str, Any] = {
        "level": record.levelname,
        "message": record.getMessage(),
        "logger": record.name,
    }
    line.update({k: v for k, v in vars(record).items() if k not in STANDARD})
    return json.loads(json.dumps(line, default=str))


@pytest.fixture
def lines(caplog: pytest.LogCaptureFixture) -> Callable[[], list[dict[str, Any]]]:
    # The function's own loggers (botocore logs nothing below WARN on Lambda: not ours to test).
    caplog.set_level(logging.DEBUG, logger="users_api")
    return lambda: [as_json_line(r) for r in caplog.records if r.name.startswith("users_api")]


def test_each_request_writes_one_line_with_its_fields(
    api: Api, lines: Callable[[], list[dict[str, Any]]]
) -> None:
    api("POST", "/users", body={"user_id": "01", "name": "Joy"}, route_key="POST /users")
    api("GET", "/users/01", route_key="GET /users/{user_id}", path_params={"user_id": "01"},
        request_id="req-get")  # fmt: skip
    api("GET", "/users/nobody", route_key="GET /users/{user_id}", path_params={"user_id": "x"})

    requests = [line for line in lines() if line["logger"] == "users_api.request"]

    assert len(requests) == 3
    assert all(set(line) >= FIELDS for line in requests)
    assert [(line["route_key"], line["status"]) for line in requests] == [
        ("POST /users", 201),
        ("GET /users/{user_id}", 200),
        ("GET /users/{user_id}", 404),
    ]
    assert requests[1]["request_id"] == "req-get"
    assert all(isinstance(line["latency_ms"], float) for line in requests)
    assert "caller" not in requests[0]  # an open API has no callers to name


def test_the_first_request_of_an_environment_is_the_cold_start(
    api: Api, app: Any, lines: Callable[[], list[dict[str, Any]]], monkeypatch: Any
) -> None:
    monkeypatch.setattr(app, "_cold", [True])
    api("GET", "/hello")
    api("GET", "/hello")

    requests = [line for line in lines() if line["logger"] == "users_api.request"]

    assert [line["cold_start"] for line in requests] == [True, False]


def test_lines_name_the_caller_but_hold_no_body_email_or_token(
    api: Api, use_auth: Any, lines: Callable[[], list[dict[str, Any]]]
) -> None:
    use_auth(mode="JWT")
    token = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJhbm4ifQ.c2lnbmF0dXJl"
    authorizer = {"jwt": {"claims": {"sub": "ann", "email": "ann@example.com"}, "scopes": None}}
    headers = {"Authorization": f"Bearer {token}"}
    api("POST", "/users", body={"name": "Ann Secret", "email": "ann@example.com"},
        headers=headers, authorizer=authorizer)  # fmt: skip
    api("GET", "/users", query={"email": "ann@example.com"}, headers=headers, authorizer=authorizer)
    api("POST", "/users", raw_body='{"name": "broken', headers=headers)  # a 401, then nothing

    written = json.dumps(lines())
    requests = [line for line in lines() if line["logger"] == "users_api.request"]

    assert [line["caller"] for line in requests] == ["jwt:ann", "jwt:ann", None]
    assert [line["status"] for line in requests] == [201, 403, 401]
    for secret in ("ann@example.com", "Ann Secret", token, "broken"):
        assert secret not in written


def test_an_unexpected_error_logs_its_trace_and_the_line_says_500(
    api: Api, app: Any, lines: Callable[[], list[dict[str, Any]]], monkeypatch: Any
) -> None:
    def boom(*_: Any, **__: Any) -> None:
        raise RuntimeError("bug")

    monkeypatch.setattr(app.SERVICES.repository(UserRepository), "get", boom)

    result = api("GET", "/users/01")

    assert result.status == 500
    assert result.body == {
        "error": "Internal server error",
        "code": "internal_error",
        "request_id": "req-1",
    }
    logged = lines()
    assert any(line["message"] == "unhandled error" for line in logged)
    assert [line["status"] for line in logged if line["logger"] == "users_api.request"] == [500]
