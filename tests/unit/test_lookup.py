"""GET /users?email= reads its own writes: two strongly consistent reads (the uniqueness record,
then the user), so a user created or changed a moment earlier is found in its new state."""

from __future__ import annotations

from typing import Any

from tests.unit.conftest import Api
from users_api.users import UserRepository


def test_create_then_lookup_finds_the_new_user(api: Api) -> None:
    created = api("POST", "/users", body={"name": "Ann", "email": "Ann@Example.com"}).body

    found = api("GET", "/users", query={"email": "ann@example.com"})

    assert found.status == 200
    assert found.body == created


def test_change_then_lookup_sees_the_new_address_and_not_the_old(api: Api) -> None:
    api("POST", "/users", body={"user_id": "01", "name": "Ann", "email": "ann@example.com"})
    changed = api("PATCH", "/users/01", body={"email": "ann@new.example.com"}).body

    new = api("GET", "/users", query={"email": "ann@new.example.com"})
    old = api("GET", "/users", query={"email": "ann@example.com"})

    assert (new.status, new.body) == (200, changed)
    assert old.status == 404
    assert old.body["code"] == "user_not_found"


def test_delete_then_lookup_is_404(api: Api) -> None:
    api("POST", "/users", body={"user_id": "01", "name": "Ann", "email": "ann@example.com"})
    api("DELETE", "/users/01")

    assert api("GET", "/users", query={"email": "ann@example.com"}).status == 404


def test_an_address_moving_between_the_two_reads_is_looked_up_again(
    api: Api, app: Any, dynamodb: Any
) -> None:
    api("POST", "/users", body={"user_id": "01", "name": "Ann", "email": "ann@example.com"})
    api("POST", "/users", body={"user_id": "02", "name": "Bob"})
    store = app.SERVICES.repository(UserRepository)
    real_get = store.get
    moved = []

    def get_after_a_move(user_id: str) -> Any:
        if not moved:  # between reading the record and the user, the address moves to 02
            moved.append(True)
            assert api("PATCH", "/users/01", body={"email": None}).status == 200
            assert api("PATCH", "/users/02", body={"email": "ann@example.com"}).status == 200
        return real_get(user_id)

    store.get = get_after_a_move
    try:
        found = api("GET", "/users", query={"email": "ann@example.com"})
    finally:
        del store.get

    assert found.status == 200
    assert found.body["user_id"] == "02"
