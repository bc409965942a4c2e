"""`Idempotency-Key` on creates (IETF httpapi draft "The Idempotency-Key HTTP Header Field").

Any repository's create can take part; it needs only the DynamoDB gateway (users_api.dynamo).
A create with a key first *claims* it (PutItem, conditional: the key is new, expired, or an
abandoned claim whose lease ran out), then writes the new item in one transaction with the claim's
completion (the response to replay), so "the item exists" and "the key answered 201" can never
disagree. Then:

- the same key and body again within 24 hours: the stored response (status, body, Location,
  ETag) is replayed and nothing is written, while what it created exists (the route checks);
  once that is deleted, the key is forgotten (`forget`) and the request runs anew, so a replay
  never points at a 404;
- the same key with another body: 422 `idempotency_key_reused`;
- while the first request with the key is still in flight: 409 `idempotency_key_in_use`;
- a create that fails (4xx, or 5xx) releases its claim, so the key is not pinned by a failure.

Keys are per caller (the authenticated principal, or "anonymous" on an open API) and expire with
the table's TTL (`expires_at`, epoch seconds; a record past it counts as absent even before TTL
deletes it, which can take days).
"""

from __future__ import annotations

import contextlib
import hashlib
import re
import time
from dataclasses import dataclass
from typing import Any, Final

from users_api.dynamo import TOKEN_KEY, ConditionFailed, Dynamo, StoreError, new_token

KEY_ATTRIBUTE: Final = "idempotency_key"
TTL_S: Final = 24 * 3600
# An in-flight claim older than this was abandoned (the function's timeout is at most 29 s).
LEASE_S: Final = 60
IN_FLIGHT: Final = "in_flight"
DONE: Final = "done"
VALID_KEY: Final = re.compile(r"[\x20-\x7e]{1,255}")
REPLAYED_HEADERS: Final = ("Location", "ETag")


class IdempotencyKeyReused(StoreError):
    """The key was used with a different request body."""


class IdempotencyKeyInFlight(StoreError):
    """The first request with this key has not finished yet."""


@dataclass(frozen=True, slots=True)
class StoredResponse:
    status: int
    body: str
    headers: dict[str, str]


class Replay(Exception):
    """The key already answered: send `response` again (`held`: the record that holds it)."""

    def __init__(self, response: StoredResponse, held: Claim) -> None:
        super().__init__("replay")
        self.response = response
        self.held = held


@dataclass(frozen=True, slots=True)
class Claim:
    key: str  # "<caller>#<Idempotency-Key>"
    token: str


def is_valid_key(value: str) -> bool:
    """1-255 printable ASCII characters."""
    return VALID_KEY.fullmatch(value) is not None


def fingerprint(body: bytes | None) -> str:
    return hashlib.sha256(body or b"").hexdigest()


class IdempotencyStore:
    def __init__(self, db: Dynamo, table: str) -> None:
        self._db = db
        self._table = table

    def claim(self, caller: str, key: str, body_fingerprint: str) -> Claim:
        """Claim `key` for this request, or raise Replay / IdempotencyKeyReused / ...InFlight."""
        now = int(time.time())
        claim = Claim(f"{caller}#{key}", new_token())
        try:
            self._db.write(
                "put_item",
                key,
                TableName=self._table,
                Item={
                    KEY_ATTRIBUTE: {"S": claim.key},
                    "state": {"S": IN_FLIGHT},
                    "fingerprint": {"S": body_fingerprint},
                    TOKEN_KEY: {"S": claim.token},
                    "expires_at": {"N": str(now + TTL_S)},
                    "lease_until": {"N": str(now + LEASE_S)},
                },
                ConditionExpression=(
                    f"attribute_not_exists({KEY_ATTRIBUTE}) OR expires_at < :now"
                    " OR (#state = :in_flight AND lease_until < :now)"
                ),
                ExpressionAttributeNames={"#state": "state"},
                ExpressionAttributeValues={
                    ":now": {"N": str(now)},
                    ":in_flight": {"S": IN_FLIGHT},
                },
                ReturnValuesOnConditionCheckFailure="ALL_OLD",
            )
        except ConditionFailed as failed:
            held = failed.item or {}
            if held.get(TOKEN_KEY, {}).get("S") == claim.token:
                return claim  # our own claim: the first attempt's answer was lost
            if held.get("fingerprint", {}).get("S") != body_fingerprint:
                raise IdempotencyKeyReused(key) from None
            if held.get("state", {}).get("S") == DONE:
                answered = Claim(claim.key, str(held.get(TOKEN_KEY, {}).get("S", "")))
                raise Replay(_stored_response(held), answered) from None
            raise IdempotencyKeyInFlight(key) from None
        return claim

    def completion(self, claim: Claim, response: StoredResponse) -> dict[str, Any]:
        """The transaction item that marks the claim done with the response to replay."""
        return {
            "Update": {
                "TableName": self._table,
                "Key": {KEY_ATTRIBUTE: {"S": claim.key}},
                "UpdateExpression": (
                    "SET #state = :done, response_status = :status, response_body = :body,"
                    " response_headers = :headers"
                ),
                "ConditionExpression": "#token = :token AND #state = :in_flight",
                "ExpressionAttributeNames": {"#state": "state", "#token": TOKEN_KEY},
                "ExpressionAttributeValues": {
                    ":done": {"S": DONE},
                    ":in_flight": {"S": IN_FLIGHT},
                    ":token": {"S": claim.token},
                    ":status": {"N": str(response.status)},
                    ":body": {"S": response.body},
                    ":headers": {"M": {k: {"S": v} for k, v in response.headers.items()}},
                },
            }
        }

    def release(self, claim: Claim) -> None:
        """Give the key back after a failed create (only while it is still this request's claim)."""
        # Completed after all, or taken over: then nothing of ours is left to release.
        with contextlib.suppress(ConditionFailed):
            self._db.write(
                "delete_item",
                claim.key,
                TableName=self._table,
                Key={KEY_ATTRIBUTE: {"S": claim.key}},
                ConditionExpression="#token = :token AND #state = :in_flight",
                ExpressionAttributeNames={"#state": "state", "#token": TOKEN_KEY},
                ExpressionAttributeValues={
                    ":token": {"S": claim.token},
                    ":in_flight": {"S": IN_FLIGHT},
                },
            )

    def forget(self, answered: Claim) -> None:
        """Forget a key whose answer no longer holds (what it created is gone), so the next
        request with it runs anew; only while the record is still that answer."""
        with contextlib.suppress(ConditionFailed):
            self._db.write(
                "delete_item",
                answered.key,
                TableName=self._table,
                Key={KEY_ATTRIBUTE: {"S": answered.key}},
                ConditionExpression="#token = :token AND #state = :done",
                ExpressionAttributeNames={"#state": "state", "#token": TOKEN_KEY},
                ExpressionAttributeValues={
                    ":token": {"S": answered.token},
                    ":done": {"S": DONE},
                },
            )


def _stored_response(item: dict[str, Any]) -> StoredResponse:
    headers = item.get("response_headers", {}).get("M", {})
    return StoredResponse(
        status=int(item["response_status"]["N"]),
        body=str(item["response_body"]["S"]),
        headers={str(k): str(v["S"]) for k, v in headers.items()},
    )
