"""Concurrent requests: the store's conditions, not timing, decide who wins."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from threading import Barrier
from typing import Any

import pytest

from tests.unit.conftest import Api, stored_emails, stored_users

WORKERS = 12


def race(api: Api, requests: list[tuple[str, str, dict[str, Any]]]) -> list[Any]:
    """Send `requests` at once, each from its own thread, released together by a barrier."""
    barrier = Barrier(len(requests))

    def send(request: tuple[str, str, dict[str, Any]]) -> Any:
        method, path, kwargs = request
        barrier.wait()
        return api(method, path, **kwargs)

    with ThreadPoolExecutor(len(requests)) as pool:
        return list(pool.map(send, requests))


@pytest.mark.usefixtures("atomic_dynamodb")
def test_concurrent_creates_with_one_email_give_exactly_one_201(api: Api, dynamodb: Any) -> None:
    results = race(
        api,
        [
            (
                "POST",
                "/users",
                {"body": {"user_id": f"u{i}", "name": "x", "email": "same@example.com"}},
            )
            for i in range(WORKERS)
        ],
    )

    statuses = sorted(result.status for result in results)
    assert statuses == [201] + [409] * (WORKERS - 1)
    assert all(r.body["code"] == "email_taken" for r in results if r.status == 409)
    winner = next(r.body["user_id"] for r in results if r.status == 201)
    assert set(stored_users(dynamodb)) == {winner}
    assert stored_emails(dynamodb) == {"same@example.com": winner}


@pytest.mark.usefixtures("atomic_dynamodb")
def test_concurrent_creates_with_one_user_id_give_exactly_one_201(api: Api, dynamodb: Any) -> None:
    results = race(
        api,
        [
            (
                "POST",
                "/users",
                {"body": {"user_id": "same", "name": f"n{i}", "email": f"e{i}@example.com"}},
            )
            for i in range(WORKERS)
        ],
    )

    assert sorted(r.status for r in results) == [201] + [409] * (WORKERS - 1)
    winner = next(r.body for r in results if r.status == 201)
    assert stored_users(dynamodb)["same"]["name"] == {"S": winner["name"]}
    assert stored_emails(dynamodb) == {winner["email"]: "same"}


@pytest.mark.usefixtures("atomic_dynamodb")
@pytest.mark.parametrize("email_change", [False, True])
def test_concurrent_if_match_updates_on_one_version_give_exactly_one_200(
    api: Api, dynamodb: Any, email_change: bool
) -> None:
    api("POST", "/users", body={"user_id": "01", "name": "Joy", "email": "joy@example.com"})

    def body(i: int) -> dict[str, Any]:
        return {
            "name": f"n{i}",
            "email": f"e{i}@example.com" if email_change else "joy@example.com",
        }

    results = race(
        api,
        [
            ("PUT", "/users/01", {"body": body(i), "headers": {"If-Match": '"1"'}})
            for i in range(WORKERS)
        ],
    )

    assert sorted(r.status for r in results) == [200] + [412] * (WORKERS - 1)
    winner = next(r.body for r in results if r.status == 200)
    stored = stored_users(dynamodb)["01"]
    assert stored["version"] == {"N": "2"}
    assert stored["name"] == {"S": winner["name"]}
    assert stored_emails(dynamodb) == {winner["email"]: "01"}


@pytest.mark.usefixtures("atomic_dynamodb")
def test_concurrent_unconditional_updates_all_apply_in_some_order(api: Api, dynamodb: Any) -> None:
    api("POST", "/users", body={"user_id": "01", "name": "Joy", "email": "joy@example.com"})

    results = race(
        api,
        [("PATCH", "/users/01", {"body": {"email": f"e{i}@example.com"}}) for i in range(WORKERS)],
    )

    assert [r.status for r in results] == [200] * WORKERS
    assert sorted(r.body["version"] for r in results) == list(range(2, WORKERS + 2))
    final = stored_users(dynamodb)["01"]
    assert final["version"] == {"N": str(WORKERS + 1)}
    # Exactly one address is held, and it is the user's current one: none leaked.
    assert stored_emails(dynamodb) == {final["email"]["S"]: "01"}
