"""The DynamoDB gateway every repository uses: calls, one error model, retries within the deadline,
transactions and their tokens. It knows no resource.

Every `ClientError` is classified once (`classify`): a failed condition is a domain outcome
(`ConditionFailed`, `Cancelled` with the reasons per item); a transaction conflict is retried by
`write`/`transact` until the request's deadline (`Contention` if it never clears); throttling and
service faults have already been retried by the SDK and become `Unavailable` (503 + Retry-After);
anything else is a bug (500).

Writes are idempotent under retries: a single-item write carries a request token on the item
(repositories store `TOKEN_KEY`), so a retry whose first attempt applied but whose answer was lost
finds its own token in the item a failed condition returns. A transaction passes one
`ClientRequestToken` to every attempt of it — the SDK's retries and this module's own, which
begin when the SDK's attempts at a `TransactionInProgressException` run out — so DynamoDB applies
it once and answers a repeat of a committed transaction with success, not with its conditions
failing against its own write.
"""

from __future__ import annotations

import random
import time
import uuid
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final, cast

from botocore.exceptions import (
    ClientError,
    ConnectionClosedError,
    ConnectTimeoutError,
    EndpointConnectionError,
    ReadTimeoutError,
)

from users_api import deadline

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.client import DynamoDBClient

Item = dict[str, Any]

TOKEN_KEY: Final = "request_token"
# Optimistic writes: every failed attempt means another writer succeeded in between, so N
# concurrent writers of one item all finish within N attempts; the deadline comes first anyway.
MAX_ATTEMPTS: Final = 16

CONFLICT_CODES: Final = frozenset(
    {"TransactionConflictException", "TransactionInProgressException"}
)
THROTTLING_CODES: Final = frozenset(
    {"ProvisionedThroughputExceededException", "ThrottlingException", "RequestLimitExceeded"}
)
THROTTLING_REASONS: Final = frozenset({"ThrottlingError", "ProvisionedThroughputExceeded"})
NETWORK_ERRORS: Final = (
    ConnectTimeoutError,
    ReadTimeoutError,
    EndpointConnectionError,
    ConnectionClosedError,
)


class StoreError(Exception):
    """Base of the outcomes a repository reports; the routers' error tables map them."""


class Unavailable(StoreError):
    """DynamoDB throttled or failed even after the SDK's retries; the client should retry."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class Contention(StoreError):
    """The item kept changing under this write for MAX_ATTEMPTS attempts."""

    def __init__(self, key: str) -> None:
        super().__init__(key)
        self.key = key


class ClaimLost(StoreError):
    """A condition on an item the caller added to a write (`also`) failed; nothing was written."""


class ConditionFailed(Exception):
    """A single-item write's condition failed; `item` is the stored one (ALL_OLD), if any."""

    def __init__(self, item: Item | None, retried: bool) -> None:
        super().__init__("condition failed")
        self.item = item
        self.retried = retried  # the SDK retried: an earlier attempt may have applied


class Conflict(Exception):
    """Another transaction holds one of the items: try again."""


class Cancelled(Exception):
    """A transaction was cancelled by a failed condition; `reasons` per item, in order."""

    def __init__(self, reasons: list[str]) -> None:
        super().__init__(f"transaction cancelled: {reasons}")
        self.reasons = reasons

    def failed(self) -> int:
        return self.reasons.index("ConditionalCheckFailed")


@dataclass(frozen=True, slots=True)
class Tables:
    """Table names by the key the Terraform `tables` map gives them (env `<KEY>_TABLE`)."""

    names: Mapping[str, str]

    @classmethod
    def from_environment(cls, environ: Mapping[str, str]) -> Tables:
        return cls(
            {
                name.removesuffix("_TABLE").lower(): value
                for name, value in environ.items()
                if name.endswith("_TABLE") and value
            }
        )

    def name(self, key: str) -> str:
        try:
            return self.names[key]
        except KeyError:
            raise RuntimeError(f"environment variable {key.upper()}_TABLE is not set") from None


def new_token() -> str:
    return uuid.uuid4().hex


def token_of(item: Item | None) -> str | None:
    """The request token a write stored on `item`, if any."""
    stored = (item or {}).get(TOKEN_KEY)
    return str(stored["S"]) if stored else None


def code_of(error: ClientError) -> str:
    return str(error.response.get("Error", {}).get("Code", ""))


def classify(error: ClientError) -> Exception:
    """What a DynamoDB error means; unexpected ones come back as they are (a bug: 500)."""
    code = code_of(error)
    metadata = error.response.get("ResponseMetadata", {})
    if code == "ConditionalCheckFailedException":
        item = cast("Item | None", error.response.get("Item"))
        return ConditionFailed(item, int(metadata.get("RetryAttempts", 0)) > 0)
    if code in CONFLICT_CODES:
        return Conflict()
    if code in THROTTLING_CODES or int(metadata.get("HTTPStatusCode", 0)) >= 500:
        return Unavailable(code or "service error")
    if code == "TransactionCanceledException":
        raw = cast("list[dict[str, Any]]", error.response.get("CancellationReasons") or [])
        reasons = [str(reason.get("Code", "None")) for reason in raw]
        if THROTTLING_REASONS.intersection(reasons):
            return Unavailable("transaction throttled")
        if "TransactionConflict" in reasons:
            return Conflict()  # a condition read under a conflict may be stale: retry
        if "ConditionalCheckFailed" in reasons:
            return Cancelled(reasons)
    return error


def _back_off(attempt: int) -> None:
    """Sleep a jittered few milliseconds so contending writers spread out, within the deadline."""
    pause = random.uniform(0, min(0.002 * 2**attempt, 0.05))
    remaining = deadline.current().remaining()
    time.sleep(max(0.0, min(pause, remaining)))


def attempts() -> Iterator[int]:
    """Attempt numbers of an optimistic loop: backs off between them, stops at the deadline
    (DeadlineExceeded); a caller that runs out of attempts raises Contention."""
    for attempt in range(MAX_ATTEMPTS):
        if attempt:
            _back_off(attempt)
        deadline.current().check()
        yield attempt


class Dynamo:
    """One DynamoDB client, its errors classified; shared by every repository."""

    def __init__(self, client: DynamoDBClient) -> None:
        self.client = client

    def call(self, operation: str, **kwargs: Any) -> dict[str, Any]:
        """One DynamoDB call, its error classified (see the module docstring)."""
        try:
            response: dict[str, Any] = getattr(self.client, operation)(**kwargs)
        except ClientError as error:
            raise classify(error) from None
        except NETWORK_ERRORS as error:
            raise Unavailable(type(error).__name__) from None
        return response

    def write(self, operation: str, key: str, **kwargs: Any) -> dict[str, Any]:
        """A single-item write: a conflict with a transaction in flight on the item (which did not
        apply it) is retried with back-off until the deadline; Contention if it never clears."""
        for _ in attempts():
            try:
                return self.call(operation, **kwargs)
            except Conflict:
                continue
        raise Contention(key)

    def transact(self, items: list[Item], key: str) -> None:
        """Run a write transaction; raises Cancelled when a condition failed.

        A conflict (another transaction holds one of the items, or this one is still in
        progress) is retried with a short jittered back-off until the deadline, with the same
        ClientRequestToken throughout: the items do not change between attempts, so a repeat of
        an attempt that committed after all answers success instead of failing its conditions.
        """
        token = new_token()
        for _ in attempts():
            try:
                self.call("transact_write_items", TransactItems=items, ClientRequestToken=token)
                return
            except Conflict:
                continue
        raise Contention(key)
