"""Idempotency-Key on POST /users: replay, 422 on reuse, 409 while in flight, no pinning on failure,
keys per caller, and two concurrent requests with one key make exactly one user."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from tests.unit.conftest import IDEMPOTENCY_TABLE, Api, stored_emails, stored_users

KEY = {"Idempotency-Key": "7f7c2b0e-create-ann"}


def stored_keys(client: Any) -> dict[str, dict[str, Any]]:
    items = client.scan(TableName=IDEMPOTENCY_TABLE, ConsistentRead=True)["Items"]
    return {item["idempotency_key"]["S"]: item for item in items}


def test_same_key_and_body_replays_the_first_response_without_writing(
    api: Api, dynamodb: Any, calls: list[str]
) -> None:
    first = api("POST", "/users", body={"name": "Ann", "email": "ann@example.com"}, headers=KEY)
    calls.clear()

    again = api("POST", "/users", body={"name": "Ann", "email": "ann@example.com"}, headers=KEY)

    assert first.status == again.status == 201
    assert again.body == first.body  # the generated user_id too: one user, not two
    assert again.headers["Location"] == first.headers["Location"]
    assert again.headers["ETag"] == first.headers["ETag"]
    assert again.headers["Idempotent-Replayed"] == "true"
    # The claim that failed and returned the stored answer; the read that finds the user still.
    assert calls == ["PutItem", "GetItem"]
    assert list(stored_users(dynamodb)) == [first.body["user_id"]]
    assert stored_emails(dynamodb) == {"ann@example.com": first.body["user_id"]}


def test_a_key_whose_user_was_deleted_creates_the_user_anew(api: Api, dynamodb: Any) -> None:
    body = {"user_id": "ann", "name": "Ann"}
    first = api("POST", "/users", body=body, headers=KEY)
    assert api("DELETE", "/users/ann").status == 204

    again = api("POST", "/users", body=body, headers=KEY)
    replay = api("POST", "/users", body=body, headers=KEY)

    assert first.status == again.status == 201
    assert "Idempotent-Replayed" not in again.headers  # created, not replayed: Location is live
    assert api("GET", "/users/ann").status == 200
    assert list(stored_users(dynamodb)) == ["ann"]
    assert replay.headers["Idempotent-Replayed"] == "true"  # the key answers for the new user
    assert replay.body == again.body
    assert len(stored_keys(dynamodb)) == 1


def test_the_key_record_expires_with_ttl_in_24_hours(api: Api, dynamodb: Any) -> None:
    api("POST", "/users", body={"name": "Ann"}, headers=KEY)

    [record] = stored_keys(dynamodb).values()

    assert record["state"] == {"S": "done"}
    ttl = dynamodb.describe_time_to_live(TableName=IDEMPOTENCY_TABLE)["TimeToLiveDescription"]
    assert ttl["AttributeName"] == "expires_at"
    lease, expiry = int(record["lease_until"]["N"]), int(record["expires_at"]["N"])
    assert expiry - lease == 24 * 3600 - 60


def test_same_key_with_another_body_is_422_and_writes_nothing(api: Api, dynamodb: Any) -> None:
    api("POST", "/users", body={"user_id": "a1", "name": "Ann"}, headers=KEY)

    result = api("POST", "/users", body={"user_id": "a2", "name": "Ann"}, headers=KEY)

    assert result.status == 422
    assert result.body["code"] == "idempotency_key_reused"
    assert set(stored_users(dynamodb)) == {"a1"}


def test_a_failed_create_does_not_pin_the_key(api: Api, dynamodb: Any) -> None:
    api("POST", "/users", body={"user_id": "taken", "name": "First"})

    failed = api("POST", "/users", body={"user_id": "taken", "name": "Second"}, headers=KEY)
    retried = api("POST", "/users", body={"user_id": "free", "name": "Second"}, headers=KEY)

    assert failed.status == 409
    assert failed.body["code"] == "user_exists"
    assert retried.status == 201  # a different body is fine: the failure did not keep the key
    assert set(stored_users(dynamodb)) == {"taken", "free"}


def test_invalid_body_never_claims_the_key(api: Api, dynamodb: Any) -> None:
    assert api("POST", "/users", body={"name": ""}, headers=KEY).status == 400
    assert stored_keys(dynamodb) == {}


@pytest.mark.parametrize("key", ["", "x" * 256, "tab\there", "é", "nul\x00"])
def test_keys_must_be_1_to_255_printable_characters(api: Api, dynamodb: Any, key: str) -> None:
    result = api("POST", "/users", body={"name": "Ann"}, headers={"Idempotency-Key": key})

    assert result.status == 400
    assert result.body["code"] == "invalid_idempotency_key"
    assert stored_users(dynamodb) == {}


def test_keys_are_per_caller(api: Api, dynamodb: Any, use_auth: Any) -> None:
    use_auth(mode="JWT")

    def as_user(sub: str) -> dict[str, Any]:
        return {"jwt": {"claims": {"sub": sub}, "scopes": None}}

    ann = api("POST", "/users", body={"name": "Ann"}, headers=KEY, authorizer=as_user("ann"))
    bob = api("POST", "/users", body={"name": "Ann"}, headers=KEY, authorizer=as_user("bob"))

    assert (ann.status, bob.status) == (201, 201)
    assert (ann.body["user_id"], bob.body["user_id"]) == ("ann", "bob")
    key = KEY["Idempotency-Key"]
    assert set(stored_keys(dynamodb)) == {f"jwt:ann#{key}", f"jwt:bob#{key}"}


def test_while_the_first_request_is_in_flight_a_second_is_409_then_replays(
    api: Api, app: Any, dynamodb: Any
) -> None:
    # Hold the first request inside its create transaction until the second has been answered.
    client = app.SERVICES.db.client
    inside, release = threading.Event(), threading.Event()

    def hold(**_: Any) -> None:
        if threading.current_thread().name == "first":
            inside.set()
            assert release.wait(10)

    client.meta.events.register("before-call.dynamodb.TransactWriteItems", hold)
    body = {"name": "Ann", "email": "ann@example.com"}
    results: dict[str, Any] = {}
    first = threading.Thread(
        target=lambda: results.update(first=api("POST", "/users", body=body, headers=KEY)),
        name="first",
    )
    first.start()
    try:
        assert inside.wait(10)
        second = api("POST", "/users", body=body, headers=KEY)
    finally:
        release.set()
        first.join()
    client.meta.events.unregister("before-call.dynamodb.TransactWriteItems", hold)

    assert second.status == 409
    assert second.body["code"] == "idempotency_key_in_use"
    assert second.headers["Retry-After"] == "1"
    assert results["first"].status == 201
    third = api("POST", "/users", body=body, headers=KEY)
    assert (third.status, third.body) == (201, results["first"].body)
    assert list(stored_users(dynamodb)) == [results["first"].body["user_id"]]


@pytest.mark.usefixtures("atomic_dynamodb")
def test_concurrent_requests_with_one_key_make_exactly_one_user(api: Api, dynamodb: Any) -> None:
    barrier = threading.Barrier(8)

    def send(_: int) -> Any:
        barrier.wait()
        return api("POST", "/users", body={"name": "Ann"}, headers=KEY)

    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(send, range(8)))

    assert {r.status for r in results} <= {201, 409}
    created = {r.body["user_id"] for r in results if r.status == 201}
    assert len(created) == 1
    assert list(stored_users(dynamodb)) == list(created)
    assert all(r.body["code"] == "idempotency_key_in_use" for r in results if r.status == 409)
