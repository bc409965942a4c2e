"""next_token: opaque, round-trips, refuses anything it did not issue or for another window."""

from __future__ import annotations

import pytest

from users_api.errors import BadRequest, UnprocessableContent
from users_api.paging import PageTokens
from users_api.users.repository import CREATED_KEY_PATTERN

KEY = "2026-11-23T08:30:00.000Z#01"


@pytest.mark.parametrize(
    ("key", "after", "before"),
    [
        (KEY, None, None),
        ("2026-11-23T08:30:00.000Z#" + "x" * 64, "2026-01-01T00:00:00.000Z", None),
        (KEY, None, "2027-01-01T00:00:00.000Z"),
    ],
)
def test_token_round_trips_with_its_window(key: str, after: str | None, before: str | None) -> None:
    tokens = PageTokens("table-a", CREATED_KEY_PATTERN)

    assert tokens.decode(tokens.encode(key, after, before), after, before) == key


def test_token_from_another_stack_is_refused() -> None:
    with pytest.raises(UnprocessableContent) as raised:
        PageTokens("table-b", CREATED_KEY_PATTERN).decode(
            PageTokens("table-a", CREATED_KEY_PATTERN).encode(KEY)
        )
    assert raised.value.code == "invalid_next_token"


def test_token_for_another_window_is_refused() -> None:
    tokens = PageTokens("table-a", CREATED_KEY_PATTERN)
    token = tokens.encode(KEY, "2026-01-01T00:00:00.000Z", None)

    with pytest.raises(UnprocessableContent, match="other created_after/created_before"):
        tokens.decode(token)


@pytest.mark.parametrize("token", ["", ".", "abc", "abc.def", "e30.AAAA", "x" * 500])
def test_garbage_is_refused(token: str) -> None:
    with pytest.raises(BadRequest):
        PageTokens("table-a", CREATED_KEY_PATTERN).decode(token)
