"""Data model v2 over HTTP on the local front (the default stack): newest-first pages and date
windows while users come and go, read-your-writes lookup by email, and Idempotency-Key."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from threading import Barrier
from typing import Any
from urllib.parse import urlencode

import pytest

from tests.e2e.conftest import serve_stack
from tests.e2e.test_local_stack import Client

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def client(front_stack: Any) -> Iterator[Client]:
    with serve_stack(front_stack, max_workers=4) as local:
        yield Client(local.url, contract="NONE")


def _id(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def _create(client: Client, user_id: str, **fields: Any) -> dict[str, Any]:
    reply = client.request("POST", "/users", {"user_id": user_id, "name": "Paged", **fields})
    assert reply.status == 201, reply.body
    return dict(reply.json())


def _pages(client: Client, limit: int, **window: str) -> Iterator[dict[str, Any]]:
    token: str | None = None
    while True:
        query = {"limit": str(limit), **window, **({"next_token": token} if token else {})}
        reply = client.request("GET", f"/users?{urlencode(query)}")
        assert reply.status == 200, reply.body
        page = reply.json()
        yield page
        token = page["next_token"]
        if token is None:
            return


def test_pages_come_newest_first_and_hold_every_user_once_while_users_come_and_go(
    client: Client,
) -> None:
    mine = [_create(client, _id("page")) for _ in range(9)]
    window = {"created_after": mine[0]["created_at"]}  # inclusive: from the first of mine on
    expected = [user["user_id"] for user in reversed(mine)]
    seen: list[str] = []
    counts: list[int] = []
    newcomers: list[str] = []
    for page in _pages(client, 2, **window):
        seen += [user["user_id"] for user in page["items"]]
        counts.append(page["count"])
        # Between page requests: someone signs up, and the oldest not yet listed leaves.
        newcomers.append(_create(client, _id("new"))["user_id"])
        unseen = [uid for uid in expected if uid not in seen]
        if len(unseen) > 1:
            assert client.request("DELETE", f"/users/{unseen[-1]}").status == 204
            expected.remove(unseen[-1])

    assert seen == expected  # newest first, nothing missing, nothing twice
    assert not set(newcomers) & set(seen)  # newer than the listing's position
    assert all(count == 2 for count in counts[:-1])
    created = [user["created_at"] for user in mine]
    assert created == sorted(created)


def test_a_date_window_is_inclusive_after_and_exclusive_before(client: Client) -> None:
    mine = [_create(client, _id("window")) for _ in range(7)]
    window = {"created_after": mine[1]["created_at"], "created_before": mine[5]["created_at"]}

    seen = [user["user_id"] for page in _pages(client, 3, **window) for user in page["items"]]

    assert seen == [user["user_id"] for user in reversed(mine[1:5])]


def test_lookup_by_email_sees_a_create_and_a_change_at_once(client: Client) -> None:
    user_id = _id("rw")
    email = f"{user_id}@example.com"
    created = _create(client, user_id, email=email)

    found = client.request("GET", f"/users?email={email}")
    assert (found.status, found.json()) == (200, created)

    moved = f"{user_id}@new.example.com"
    changed = client.request("PATCH", f"/users/{user_id}", {"email": moved})
    assert changed.status == 200
    assert client.request("GET", f"/users?email={moved}").json() == changed.json()
    assert client.request("GET", f"/users?email={email}").status == 404


def test_idempotency_key_replays_refuses_another_body_and_makes_one_user_under_a_race(
    client: Client,
) -> None:
    key = {"Idempotency-Key": f"e2e-{uuid.uuid4().hex}"}
    body = {"name": "Once", "email": f"once-{uuid.uuid4().hex[:8]}@example.com"}

    first = client.request("POST", "/users", body, headers=key)
    again = client.request("POST", "/users", body, headers=key)
    other = client.request("POST", "/users", {"name": "Other"}, headers=key)

    assert first.status == again.status == 201
    assert again.body == first.body
    assert again.headers["location"] == first.headers["location"]
    assert again.headers["idempotent-replayed"] == "true"
    assert other.status == 422
    assert other.json()["code"] == "idempotency_key_reused"

    race_key = {"Idempotency-Key": f"race-{uuid.uuid4().hex}"}
    race_body = {"name": "Racer", "email": f"race-{uuid.uuid4().hex[:8]}@example.com"}
    barrier = Barrier(6)

    def send(_: int) -> Any:
        barrier.wait()
        return client.request("POST", "/users", race_body, headers=race_key)

    with ThreadPoolExecutor(6) as pool:
        replies = list(pool.map(send, range(6)))

    assert {reply.status for reply in replies} <= {201, 409}
    made = {json.loads(reply.body)["user_id"] for reply in replies if reply.status == 201}
    assert len(made) == 1
    lookup = client.request("GET", f"/users?email={race_body['email']}")
    assert lookup.json()["user_id"] in made
