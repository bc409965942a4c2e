"""Races through the HTTP front, with no lock in our code or the test: concurrent clients -> the
local API Gateway -> several function workers (processes) -> moto_server, whose request threads
run concurrently. The emulator applies each DynamoDB write atomically, as DynamoDB does (its
`dynamodb_atomic_writes` shim; without it moto once let two creates of one email both succeed in
a make test run), so what decides each race is our conditions.

As in tests/unit/test_races.py, nothing orders the requests: each thread waits at a barrier and
then sends.
"""

from __future__ import annotations

import http.client
import json
import threading
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from tests.e2e.conftest import serve_stack
from tools.localaws.gateway import LocalGateway

REPO = Path(__file__).resolve().parents[2]
IF_MATCH_RACERS = 50
EMAIL_RACERS = 20
WORKERS = 4  # function workers (processes) behind the front

pytestmark = pytest.mark.slow


def request(
    url: str, method: str, path: str, body: Any = None, headers: dict[str, str] | None = None
) -> tuple[int, Any]:
    parts = urlsplit(url)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=60)
    try:
        data = None if body is None else json.dumps(body).encode()
        all_headers = {"Content-Type": "application/json", **(headers or {})}
        connection.request(method, path, body=data, headers=all_headers)
        response = connection.getresponse()
        raw = response.read()
        return response.status, json.loads(raw) if raw else None
    finally:
        connection.close()


def race(count: int, send: Callable[[int], tuple[int, Any]]) -> list[tuple[int, Any]]:
    """`count` threads, released together by a barrier, each sending one request."""
    barrier = threading.Barrier(count)

    def run(i: int) -> tuple[int, Any]:
        barrier.wait()
        return send(i)

    with ThreadPoolExecutor(count) as pool:
        return list(pool.map(run, range(count)))


@pytest.fixture(scope="module")
def gateway(front_stack: Any) -> Iterator[LocalGateway]:
    with serve_stack(front_stack, max_workers=WORKERS) as local:
        yield local


def _id() -> str:
    return f"race-{uuid.uuid4().hex[:10]}"


def table(front_stack: Any, suffix: str) -> str:
    prefix = f"{front_stack.variables['name']}-{front_stack.variables['environment']}-"
    return prefix + suffix


def test_50_concurrent_if_match_updates_of_one_version_give_exactly_one_200(
    gateway: LocalGateway, front_stack: Any
) -> None:
    user_id = _id()
    created = request(gateway.url, "POST", "/users", {"user_id": user_id, "name": "v1"})
    assert created[0] == 201

    results = race(
        IF_MATCH_RACERS,
        lambda i: request(
            gateway.url, "PUT", f"/users/{user_id}", {"name": f"n{i}"}, {"If-Match": '"1"'}
        ),
    )

    statuses = sorted(status for status, _ in results)
    assert statuses == [200] + [412] * (IF_MATCH_RACERS - 1), statuses
    winner = next(body for status, body in results if status == 200)
    stored = request(gateway.url, "GET", f"/users/{user_id}")[1]
    assert (stored["version"], stored["name"]) == (2, winner["name"])


def test_20_concurrent_creates_with_one_email_give_exactly_one_201(
    gateway: LocalGateway, front_stack: Any
) -> None:
    email = f"{_id()}@example.com"
    ids = [_id() for _ in range(EMAIL_RACERS)]

    results = race(
        EMAIL_RACERS,
        lambda i: request(
            gateway.url, "POST", "/users", {"user_id": ids[i], "name": "x", "email": email}
        ),
    )

    statuses = sorted(status for status, _ in results)
    assert statuses == [201] + [409] * (EMAIL_RACERS - 1), statuses
    assert all(body["code"] == "email_taken" for status, body in results if status == 409)
    winner = next(body["user_id"] for status, body in results if status == 201)
    # The address's record and the users agree: one holder, the others were never written.
    client = front_stack.client("dynamodb")
    record = client.get_item(
        TableName=table(front_stack, "user-emails"),
        Key={"email": {"S": email}},
        ConsistentRead=True,
    )["Item"]
    assert record["user_id"]["S"] == winner
    for user_id in ids:
        expected = 200 if user_id == winner else 404
        assert request(gateway.url, "GET", f"/users/{user_id}")[0] == expected


def test_lists_during_concurrent_writes_never_fail(gateway: LocalGateway) -> None:
    writers, listers = 12, 12
    ids = [_id() for _ in range(writers)]

    def act(i: int) -> tuple[int, Any]:
        if i < writers:
            body = {"user_id": ids[i], "name": "w", "email": f"{ids[i]}@example.com"}
            status, created = request(gateway.url, "POST", "/users", body)
            if status != 201:
                return status, created
            return request(gateway.url, "PATCH", f"/users/{ids[i]}", {"name": "w2"})
        pages, token = [], None
        for _ in range(5):  # walk a few pages while the writes land
            path = "/users?limit=3" + (f"&next_token={token}" if token else "")
            status, page = request(gateway.url, "GET", path)
            if status != 200:
                return status, page
            pages.append(page)
            token = page["next_token"]
            if token is None:
                break
        return 200, pages

    results = race(writers + listers, act)

    assert [status for status, _ in results] == [200] * (writers + listers), results
    for _, pages in results[writers:]:
        seen: list[str] = []
        for page in pages:
            assert page["count"] == len(page["items"]) <= 3
            assert all({"user_id", "name", "version"} <= set(user) for user in page["items"])
            seen += [user["user_id"] for user in page["items"]]
        assert len(seen) == len(set(seen))  # no user twice across one walk
