"""next_token: opaque, round-trips, refuses anything it did not issue."""

from __future__ import annotations

import pytest

from users_api.errors import BadRequest
from users_api.paging import PageTokens


@pytest.mark.parametrize("user_id", ["01", "a-b_C", "x" * 64])
def test_token_round_trips(user_id: str) -> None:
    tokens = PageTokens("table-a")

    assert tokens.decode(tokens.encode(user_id)) == user_id


def test_token_from_another_stack_is_refused() -> None:
    with pytest.raises(BadRequest):
        PageTokens("table-b").decode(PageTokens("table-a").encode("01"))
