"""GET /users, newest first: order, date windows, full pages, and every user exactly once while
users are created and deleted between page requests."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.unit.conftest import Api, stored_users
from users_api.users import UserRepository, routes
from users_api.users.listing import LIST_SHARDS, shard_of


def stamp(n: int) -> str:
    """The n-th second of 2026-11-23, as the API writes times."""
    return f"2026-11-23T08:{n // 60:02d}:{n % 60:02d}.000Z"


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Creates and updates get the times stamp(0), stamp(1), ... in order."""
    tick = [0]

    def now() -> str:
        tick[0] += 1
        return stamp(tick[0])

    monkeypatch.setattr(routes, "now_iso", now)
    return tick


def create(api: Api, user_id: str) -> dict[str, Any]:
    result = api("POST", "/users", body={"user_id": user_id, "name": f"User {user_id}"})
    assert result.status == 201, result.body
    return dict(result.body)


def pages(api: Api, limit: int, **query: str) -> Iterator[dict[str, Any]]:
    token: str | None = None
    while True:
        params = {"limit": str(limit), **query, **({"next_token": token} if token else {})}
        result = api("GET", "/users", query=params)
        assert result.status == 200, result.body
        yield result.body
        token = result.body["next_token"]
        if token is None:
            return


@pytest.mark.usefixtures("clock")
def test_users_come_newest_first_with_ties_broken_by_user_id(api: Api, monkeypatch: Any) -> None:
    for user_id in ("a", "b", "c"):
        create(api, user_id)
    monkeypatch.setattr(routes, "now_iso", lambda: stamp(99))  # three users in one millisecond
    for user_id in ("x", "z", "y"):
        create(api, user_id)

    body = api("GET", "/users").body

    assert [u["user_id"] for u in body["items"]] == ["z", "y", "x", "c", "b", "a"]
    assert body["next_token"] is None


@pytest.mark.usefixtures("clock")
def test_users_spread_over_every_shard_and_pages_merge_them(api: Api) -> None:
    ids = [f"u{n:02d}" for n in range(24)]
    for user_id in ids:
        create(api, user_id)

    seen = [u["user_id"] for page in pages(api, 5) for u in page["items"]]

    assert {shard_of(user_id) for user_id in ids} == {str(s) for s in range(LIST_SHARDS)}
    assert seen == list(reversed(ids))


@pytest.mark.usefixtures("clock")
def test_pages_are_full_and_hold_every_user_once_while_users_come_and_go(api: Api) -> None:
    ids = [f"u{n:02d}" for n in range(30)]  # created at stamp(1) .. stamp(30)
    for user_id in ids:
        create(api, user_id)
    deleted = {"u03", "u10", "u17"}  # not yet listed when they go
    created_later: list[str] = []
    seen: list[str] = []
    counts: list[int] = []
    for number, page in enumerate(pages(api, 4)):
        seen += [u["user_id"] for u in page["items"]]
        counts.append(page["count"])
        # Between page requests: a new user (newer than the listing's position) and a delete.
        new = f"n{number:02d}"
        create(api, new)
        created_later.append(new)
        if deleted:
            victim = max(deleted)
            deleted.remove(victim)
            assert api("DELETE", f"/users/{victim}").status == 204
            ids.remove(victim)

    assert seen == list(reversed(ids))  # everyone still there, exactly once, newest first
    assert not set(created_later) & set(seen)  # newer than the first page: on a fresh listing
    assert all(count == 4 for count in counts[:-1])
    assert 1 <= counts[-1] <= 4


@pytest.mark.usefixtures("clock")
def test_date_window_is_inclusive_after_and_exclusive_before_across_pages(api: Api) -> None:
    ids = [f"u{n:02d}" for n in range(1, 21)]  # u01 at stamp(1) ... u20 at stamp(20)
    for user_id in ids:
        create(api, user_id)
    window = {"created_after": stamp(5), "created_before": stamp(15)}

    seen = [u["user_id"] for page in pages(api, 3, **window) for u in page["items"]]

    assert seen == [f"u{n:02d}" for n in range(14, 4, -1)]  # 14 down to 5


@pytest.mark.usefixtures("clock")
@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ({"created_after": "2026-11-23T08:00:03Z"}, ["u04", "u03"]),
        ({"created_after": "2026-11-23T10:00:03+02:00"}, ["u04", "u03"]),  # an offset: 08:00:03Z
        ({"created_before": "2026-11-23T08:00:03.000Z"}, ["u02", "u01"]),
        ({"created_after": "2026-11-24"}, []),  # a date: its midnight UTC
        ({"created_before": "2026-11-23"}, []),
    ],
)
def test_date_parameters_take_iso_8601_dates_and_times(
    api: Api, query: dict[str, str], expected: list[str]
) -> None:
    for n in range(1, 5):
        create(api, f"u{n:02d}")

    body = api("GET", "/users", query=query).body

    assert [u["user_id"] for u in body["items"]] == expected


@pytest.mark.parametrize(
    "query",
    [
        {"created_after": "yesterday"},
        {"created_before": "2026-13-01"},
        {"created_after": ""},
    ],
)
def test_bad_date_parameters_are_400(api: Api, query: dict[str, str]) -> None:
    result = api("GET", "/users", query=query)

    assert result.status == 400
    assert result.body["code"] in {"validation_error", "invalid_query"}


@pytest.mark.usefixtures("clock")
def test_a_token_continues_only_the_window_it_was_issued_for(api: Api) -> None:
    for n in range(1, 8):
        create(api, f"u{n:02d}")
    first = api("GET", "/users", query={"limit": "2", "created_after": stamp(2)}).body

    again = api(
        "GET",
        "/users",
        query={"limit": "2", "created_after": stamp(2), "next_token": first["next_token"]},
    )
    other = api("GET", "/users", query={"limit": "2", "next_token": first["next_token"]})

    assert again.status == 200
    assert [u["user_id"] for u in again.body["items"]] == ["u05", "u04"]
    assert other.status == 422
    assert other.body["code"] == "invalid_next_token"


@pytest.mark.usefixtures("clock")
def test_a_user_deleted_after_the_index_was_read_is_skipped_and_the_page_filled(
    api: Api, dynamodb: Any, app: Any
) -> None:
    for n in range(1, 7):
        create(api, f"u{n:02d}")
    # The index still lists u05 (GSIs are eventually consistent), but the user is gone.
    real_batch_get = app.SERVICES.repository(UserRepository).listing._batch_get

    def batch_get(user_ids: list[str]) -> Any:
        found = real_batch_get(user_ids)
        found.pop("u05", None)
        return found

    app.SERVICES.repository(UserRepository).listing._batch_get = batch_get
    body = api("GET", "/users", query={"limit": "3"}).body

    assert [u["user_id"] for u in body["items"]] == ["u06", "u04", "u03"]
    assert body["next_token"] is not None
    assert set(stored_users(dynamodb)) == {f"u{n:02d}" for n in range(1, 7)}
