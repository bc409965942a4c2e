"""Users in DynamoDB: conditional writes, email uniqueness records, newest-first listing.

Tables (names from the function's environment; key names defined here once):
- users: hash key `user_id`. GSI `created-index` (hash `list_shard`, range `created_key` =
  `<created_at>#<user_id>`, KEYS_ONLY) lists users newest first. The index is write-sharded over
  `LIST_SHARDS` partitions (a user's shard comes from its id), so creates spread over that many
  index partitions; `created_key` never changes and nothing else is projected, so updates of
  name or email never write the index.
- emails: hash key `email`, one item per taken address (`{email, user_id}`), written in the same
  transaction as the user: two users never hold one address, and a lookup by email is two strongly
  consistent reads (the record, then the user), so it sees a write made a moment earlier.

Every `ClientError` is classified once (`_call`): a failed condition is a domain outcome; a
transaction conflict is retried by the store's optimistic loops until the request's deadline;
throttling and service faults have already been retried by the SDK and become `Unavailable`
(503 + Retry-After); anything else is a bug (500). Cancellation reasons are read the same way.

Writes are idempotent under SDK retries: each carries a `request_token` (single-item writes store
it on the item; transactions pass it as `ClientRequestToken`), so a retry whose first attempt
succeeded but whose response was lost recognises its own write in the item a failed condition
returns, and answers as the first attempt would have.

Round trips: get 1; lookup by email 2; a list page LIST_SHARDS queries (run concurrently) + 1
BatchGetItem; create 1; update/delete 1 when the email does not change (or the user has none),
otherwise 2 (the conditional write fails cheaply, returns the stored item, and a transaction moves
the uniqueness record).
"""

from __future__ import annotations

import contextvars
import heapq
import os
import random
import time
import uuid
import zlib
from collections.abc import Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor, wait
from dataclasses import dataclass, replace
from datetime import UTC, datetime
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

USER_KEY: Final = "user_id"
EMAIL_KEY: Final = "email"
SHARD_KEY: Final = "list_shard"
CREATED_KEY: Final = "created_key"
TOKEN_KEY: Final = "request_token"
LIST_SHARDS: Final = 4
# Optimistic writes: every failed attempt means another writer succeeded in between, so N
# concurrent writers of one user all finish within N attempts; the deadline comes first anyway.
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

Item = dict[str, Any]


class StoreError(Exception):
    """Base for the store's outcomes that a caller turns into a response (routes.ERRORS)."""


class UserExists(StoreError):
    def __init__(self, user_id: str) -> None:
        super().__init__(user_id)
        self.user_id = user_id


class EmailTaken(StoreError):
    def __init__(self, email: str) -> None:
        super().__init__("email taken")  # the address stays out of messages and logs
        self.email = email


class UserNotFound(StoreError):
    def __init__(self, user_id: str) -> None:
        super().__init__(user_id)
        self.user_id = user_id


class VersionMismatch(StoreError):
    def __init__(self, user_id: str, current: int) -> None:
        super().__init__(f"current version is {current}")
        self.user_id = user_id
        self.current = current


class Contention(StoreError):
    """The user kept changing under this write for MAX_ATTEMPTS attempts."""

    def __init__(self, user_id: str) -> None:
        super().__init__(user_id)
        self.user_id = user_id


class Unavailable(StoreError):
    """DynamoDB throttled or failed even after the SDK's retries; the client should retry."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class ClaimLost(StoreError):
    """A condition on an item the caller added to a write (`also`) failed; nothing was written."""


class Keep:
    """Marker: leave a field as it is (distinct from None, which removes it)."""


KEEP: Final = Keep()


@dataclass(frozen=True, slots=True)
class Tables:
    users: str
    emails: str
    idempotency: str
    list_index: str

    @classmethod
    def from_environment(cls) -> Tables:
        try:
            return cls(
                users=os.environ["USERS_TABLE"],
                emails=os.environ["EMAILS_TABLE"],
                idempotency=os.environ["IDEMPOTENCY_TABLE"],
                list_index=os.environ.get("LIST_INDEX", "created-index"),
            )
        except KeyError as missing:
            raise RuntimeError(f"environment variable {missing} is not set") from None


@dataclass(slots=True)
class UserRecord:
    """A stored user: the fields of `models.User`, without pydantic on the read path.

    Treated as a value (changes go through `dataclasses.replace`); not frozen only because a
    frozen dataclass's __init__ costs 1 µs more per item, which a list page pays 11 times.
    """

    user_id: str
    name: str
    email: str | None
    created_at: str
    updated_at: str
    version: int

    @property
    def etag(self) -> str:
        return f'"{self.version}"'

    @property
    def created_key(self) -> str:
        return f"{self.created_at}#{self.user_id}"

    def as_dict(self) -> dict[str, Any]:
        return {
            "user_id": self.user_id,
            "name": self.name,
            "email": self.email,
            "created_at": self.created_at,
            "updated_at": self.updated_at,
            "version": self.version,
        }


@dataclass(frozen=True, slots=True)
class ListWindow:
    """Which users a list page may hold: created in [created_after, created_before), strictly
    before the `after` key (the last `created_key` of the previous page), newest first."""

    after: str | None = None
    created_after: str | None = None
    created_before: str | None = None

    def upper(self) -> str | None:
        """The highest `created_key` the page may hold (inclusive bound for the key condition).

        Keys are `<created_at>#<id>`, longer than any timestamp, so `<= created_before` already
        excludes users created at exactly created_before.
        """
        bounds = [b for b in (self.after, self.created_before) if b is not None]
        return min(bounds) if bounds else None


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def shard_of(user_id: str) -> str:
    """The list shard of a user: stable, and spread evenly over LIST_SHARDS."""
    return str(zlib.crc32(user_id.encode()) % LIST_SHARDS)


def new_token() -> str:
    return uuid.uuid4().hex


def to_item(user: UserRecord, token: str) -> Item:
    item: Item = {
        USER_KEY: {"S": user.user_id},
        "name": {"S": user.name},
        "created_at": {"S": user.created_at},
        "updated_at": {"S": user.updated_at},
        "version": {"N": str(user.version)},
        SHARD_KEY: {"S": shard_of(user.user_id)},
        CREATED_KEY: {"S": user.created_key},
        TOKEN_KEY: {"S": token},
    }
    if user.email is not None:
        item[EMAIL_KEY] = {"S": user.email}
    return item


def from_item(item: Item) -> UserRecord:
    email = item.get(EMAIL_KEY)
    return UserRecord(
        user_id=item[USER_KEY]["S"],
        name=item["name"]["S"],
        email=email["S"] if email else None,
        created_at=item["created_at"]["S"],
        updated_at=item["updated_at"]["S"],
        version=int(item["version"]["N"]),
    )


def _token_of(item: Item | None) -> str | None:
    value = (item or {}).get(TOKEN_KEY)
    return str(value["S"]) if value else None


# --- the error model ---------------------------------------------------------------------------


class ConditionFailed(Exception):
    """A single-item write's condition failed; `item` is the stored one (ALL_OLD), if any."""

    def __init__(self, item: Item | None, retried: bool) -> None:
        super().__init__("condition failed")
        self.item = item
        self.retried = retried  # the SDK retried: an earlier attempt may have applied


class _Conflict(Exception):
    """Another transaction holds one of the items: try again."""


class _Cancelled(Exception):
    """A transaction was cancelled by a failed condition; `reasons` per item, in order."""

    def __init__(self, reasons: list[str]) -> None:
        super().__init__(f"transaction cancelled: {reasons}")
        self.reasons = reasons

    def failed(self) -> int:
        return self.reasons.index("ConditionalCheckFailed")


def _code(error: ClientError) -> str:
    return str(error.response.get("Error", {}).get("Code", ""))


def _classify(error: ClientError) -> Exception:
    """What a DynamoDB error means for the store; unexpected ones come back as they are (500)."""
    code = _code(error)
    metadata = error.response.get("ResponseMetadata", {})
    if code == "ConditionalCheckFailedException":
        item = cast("Item | None", error.response.get("Item"))
        return ConditionFailed(item, int(metadata.get("RetryAttempts", 0)) > 0)
    if code in CONFLICT_CODES:
        return _Conflict()
    if code in THROTTLING_CODES or int(metadata.get("HTTPStatusCode", 0)) >= 500:
        return Unavailable(code or "service error")
    if code == "TransactionCanceledException":
        raw = cast("list[dict[str, Any]]", error.response.get("CancellationReasons") or [])
        reasons = [str(reason.get("Code", "None")) for reason in raw]
        if THROTTLING_REASONS.intersection(reasons):
            return Unavailable("transaction throttled")
        if "TransactionConflict" in reasons:
            return _Conflict()  # a condition read under a conflict may be stale: retry
        if "ConditionalCheckFailed" in reasons:
            return _Cancelled(reasons)
    return error


def _back_off(attempt: int) -> None:
    """Sleep a jittered few milliseconds so contending writers spread out, within the deadline."""
    pause = random.uniform(0, min(0.002 * 2**attempt, 0.05))
    remaining = deadline.current().remaining()
    time.sleep(max(0.0, min(pause, remaining)))


def _attempts() -> Iterator[int]:
    """Attempt numbers of an optimistic loop: backs off between them, stops at the deadline
    (DeadlineExceeded); a caller that runs out of attempts raises Contention."""
    for attempt in range(MAX_ATTEMPTS):
        if attempt:
            _back_off(attempt)
        deadline.current().check()
        yield attempt


class UserStore:
    def __init__(self, client: DynamoDBClient, tables: Tables) -> None:
        self._client = client
        self._tables = tables

    def call(self, operation: str, **kwargs: Any) -> dict[str, Any]:
        """One DynamoDB call, its error classified (see the module docstring)."""
        try:
            response: dict[str, Any] = getattr(self._client, operation)(**kwargs)
        except ClientError as error:
            raise _classify(error) from None
        except NETWORK_ERRORS as error:
            raise Unavailable(type(error).__name__) from None
        return response

    def write(self, operation: str, key: str, **kwargs: Any) -> dict[str, Any]:
        """A single-item write: a conflict with a transaction in flight on the item (which did not
        apply it) is retried with back-off until the deadline; Contention if it never clears."""
        for _ in _attempts():
            try:
                return self.call(operation, **kwargs)
            except _Conflict:
                continue
        raise Contention(key)

    # -- reads ------------------------------------------------------------------------------

    def get(self, user_id: str) -> UserRecord | None:
        response = self.call(
            "get_item",
            TableName=self._tables.users,
            Key={USER_KEY: {"S": user_id}},
            ConsistentRead=True,
        )
        item = response.get("Item")
        return from_item(item) if item else None

    def get_by_email(self, email: str) -> UserRecord | None:
        """The user holding `email`: its uniqueness record, then the user, both consistent."""
        for _ in range(2):  # the address may move between the two reads: look once more
            record = self.call(
                "get_item",
                TableName=self._tables.emails,
                Key={EMAIL_KEY: {"S": email}},
                ConsistentRead=True,
            ).get("Item")
            if not record:
                return None
            user = self.get(record[USER_KEY]["S"])
            if user is not None and user.email == email:
                return user
        return None

    def list_page(self, limit: int, window: ListWindow) -> tuple[list[UserRecord], str | None]:
        """Up to `limit` users of `window`, newest first; the key to continue after, or None.

        Each shard is queried for its newest keys in the window (concurrently), the answers
        merged, and the page's users read in one consistent BatchGetItem: LIST_SHARDS + 1 round
        trips. A user deleted since the index was read is skipped and the page filled from the
        next keys (one more BatchGetItem, or one more round of queries when those run out).
        """
        users: list[UserRecord] = []
        after = window.after
        while True:
            need = limit - len(users)
            candidates, beyond = self._index_keys(need + 1, replace(window, after=after))
            position = 0
            while len(users) < limit and position < len(candidates):
                wanted = candidates[position : position + limit - len(users)]
                position += len(wanted)
                found = self._batch_get([user_id for _, user_id in wanted])
                users += [found[user_id] for _, user_id in wanted if user_id in found]
            more = position < len(candidates) or beyond
            if len(users) == limit or not more or not candidates:
                return users, (users[-1].created_key if more and users else None)
            after = candidates[-1][0]

    def _index_keys(self, count: int, window: ListWindow) -> tuple[list[tuple[str, str]], bool]:
        """The `count` newest (created_key, user_id) pairs of the window across all shards, and
        whether the index may hold more beyond them."""
        pool = _shard_pool()
        # Each query runs in the request's context (its deadline) on a pool thread.
        futures = [
            pool.submit(contextvars.copy_context().run, self._query_shard, str(s), count, window)
            for s in range(LIST_SHARDS)
        ]
        # Every query ends before the request does, even when one fails: no pool thread keeps
        # working (or is frozen with the execution environment) after the answer.
        wait(futures)
        answers = [future.result() for future in futures]
        beyond = any(more for _, more in answers)
        merged = heapq.merge(*(keys for keys, _ in answers), reverse=True)
        keys = [pair for pair in merged if window.after is None or pair[0] < window.after]
        return keys[:count], beyond or len(keys) > count

    def _query_shard(
        self, shard: str, count: int, window: ListWindow
    ) -> tuple[list[tuple[str, str]], bool]:
        """The shard's newest keys in the window, and whether it holds more beyond them."""
        condition = "#shard = :shard"
        names = {"#shard": SHARD_KEY}
        values: dict[str, Any] = {":shard": {"S": shard}}
        upper, lower = window.upper(), window.created_after
        if upper is not None and lower is not None:
            condition += " AND #created BETWEEN :lower AND :upper"
        elif upper is not None:
            condition += " AND #created <= :upper"
        elif lower is not None:
            condition += " AND #created >= :lower"
        if upper is not None:
            values[":upper"] = {"S": upper}
        if lower is not None:
            values[":lower"] = {"S": lower}
        if upper is not None or lower is not None:
            names["#created"] = CREATED_KEY  # DynamoDB refuses an unused name
        response = self.call(
            "query",
            TableName=self._tables.users,
            IndexName=self._tables.list_index,
            KeyConditionExpression=condition,
            ExpressionAttributeNames=names,
            ExpressionAttributeValues=values,
            ScanIndexForward=False,
            # One more than needed: the `after` key itself may be among them (BETWEEN is inclusive).
            Limit=count + 1,
        )
        keys = [(item[CREATED_KEY]["S"], item[USER_KEY]["S"]) for item in response["Items"]]
        return keys, "LastEvaluatedKey" in response

    def _batch_get(self, user_ids: list[str]) -> dict[str, UserRecord]:
        """The users with these ids (at most 100), read consistently; missing ones are absent."""
        keys = {"Keys": [{USER_KEY: {"S": uid}} for uid in user_ids], "ConsistentRead": True}
        request: dict[str, Any] = {self._tables.users: keys}
        found: dict[str, UserRecord] = {}
        for _ in _attempts():
            response = self.call("batch_get_item", RequestItems=request)
            for item in response.get("Responses", {}).get(self._tables.users, []):
                user = from_item(item)
                found[user.user_id] = user
            request = response.get("UnprocessedKeys") or {}
            if not request:
                return found
        raise Unavailable("BatchGetItem left keys unprocessed")

    # -- writes -----------------------------------------------------------------------------

    def create(self, user: UserRecord, *, also: Iterable[Item] = ()) -> UserRecord:
        """Write a new user (and claim its email); `also`: more transaction items (idempotency).

        Raises UserExists, EmailTaken, or ClaimLost when a condition of an `also` item failed.
        """
        token = new_token()
        put = {
            "TableName": self._tables.users,
            "Item": to_item(user, token),
            "ConditionExpression": f"attribute_not_exists({USER_KEY})",
        }
        extra = list(also)
        if user.email is None and not extra:
            try:
                self.write(
                    "put_item", user.user_id, **put, ReturnValuesOnConditionCheckFailure="ALL_OLD"
                )
            except ConditionFailed as failed:
                if _token_of(failed.item) == token:
                    return user  # the first attempt applied; its response was lost
                raise UserExists(user.user_id) from None
            return user
        items: list[Item] = [{"Put": put}]
        if user.email is not None:
            items.append(self._claim_email(user.email, user.user_id))
        try:
            self._transact(items + extra, user.user_id)
        except _Cancelled as cancelled:
            if cancelled.failed() == 0:
                raise UserExists(user.user_id) from None
            if cancelled.failed() == 1 and user.email is not None:
                raise EmailTaken(user.email) from None
            raise ClaimLost(user.user_id) from None
        return user

    def update(
        self,
        user_id: str,
        *,
        name: str | Keep = KEEP,
        email: str | Keep | None = KEEP,
        expected_versions: Iterable[int] | None = None,
    ) -> UserRecord:
        """Set `name` and/or `email` (None removes it); bump the version.

        `expected_versions` (from `If-Match`) makes the write conditional on the stored version.
        Raises UserNotFound, VersionMismatch, EmailTaken or Contention.
        """
        expected = set(expected_versions) if expected_versions is not None else None
        token = new_token()
        for _ in _attempts():
            current, updated_in_place = self._update_in_place(user_id, name, email, expected, token)
            if updated_in_place:
                return current
            # The email changes: move its uniqueness record in one transaction with the user.
            assert not isinstance(email, Keep)
            updated = replace(
                current,
                name=current.name if isinstance(name, Keep) else name,
                email=email,
                updated_at=now_iso(),
                version=current.version + 1,
            )
            if self._move_email(current, updated, token):
                return updated
            if expected is not None:
                # The user changed since we read it, so it no longer has an expected version.
                raise VersionMismatch(user_id, current.version + 1)
        raise Contention(user_id)

    def delete(self, user_id: str, *, expected_versions: Iterable[int] | None = None) -> None:
        expected = set(expected_versions) if expected_versions is not None else None
        for _ in _attempts():
            condition, values = _version_condition(expected)
            condition += f" AND attribute_not_exists({EMAIL_KEY})"
            try:
                self.write(
                    "delete_item",
                    user_id,
                    TableName=self._tables.users,
                    Key={USER_KEY: {"S": user_id}},
                    ConditionExpression=condition,
                    **_expression_maps(values),
                    ReturnValuesOnConditionCheckFailure="ALL_OLD",
                )
                return
            except ConditionFailed as failed:
                if failed.item is None and failed.retried:
                    return  # an earlier attempt of this call deleted it; its answer was lost
                current = self._check_failed(user_id, failed, expected)
            if current.email is None:
                continue  # its email was removed meanwhile; the plain delete applies again
            delete = {
                "TableName": self._tables.users,
                "Key": {USER_KEY: {"S": user_id}},
                "ConditionExpression": "#version = :version",
                "ExpressionAttributeNames": {"#version": "version"},
                "ExpressionAttributeValues": {":version": {"N": str(current.version)}},
            }
            try:
                self._transact(
                    [{"Delete": delete}, self._release_email(current.email, user_id)], user_id
                )
                return
            except _Cancelled as cancelled:
                if cancelled.failed() != 0:
                    raise RuntimeError(
                        f"email record of user {user_id} is not owned by it"
                    ) from None
            if expected is not None:
                raise VersionMismatch(user_id, current.version + 1)
        raise Contention(user_id)

    # -- internals --------------------------------------------------------------------------

    def _update_in_place(
        self,
        user_id: str,
        name: str | Keep,
        email: str | Keep | None,
        expected: set[int] | None,
        token: str,
    ) -> tuple[UserRecord, bool]:
        """Update without touching the email's uniqueness record.

        Returns (the updated user, True), or — when the email would change — (the stored user,
        False): the caller then moves the uniqueness record. Raises UserNotFound / VersionMismatch.
        """
        condition, values = _version_condition(expected)
        # Not already applied by this call: an SDK retry after a lost answer then fails here and
        # finds its own token on the item, instead of bumping the version a second time.
        condition += " AND (attribute_not_exists(#token) OR #token <> :token)"
        sets = ["updated_at = :now", "#version = #version + :one", "#token = :token"]
        values.update({":now": {"S": now_iso()}, ":one": {"N": "1"}, ":token": {"S": token}})
        names = {"#version": "version", "#token": TOKEN_KEY}
        if not isinstance(name, Keep):
            sets.append("#name = :name")
            names["#name"] = "name"
            values[":name"] = {"S": name}
        if isinstance(email, str):
            condition += f" AND {EMAIL_KEY} = :email"
            values[":email"] = {"S": email}
        elif email is None:
            condition += f" AND attribute_not_exists({EMAIL_KEY})"
        try:
            response = self.write(
                "update_item",
                user_id,
                TableName=self._tables.users,
                Key={USER_KEY: {"S": user_id}},
                UpdateExpression="SET " + ", ".join(sets),
                ConditionExpression=condition,
                ExpressionAttributeValues=values,
                ExpressionAttributeNames=names,
                ReturnValues="ALL_NEW",
                ReturnValuesOnConditionCheckFailure="ALL_OLD",
            )
        except ConditionFailed as failed:
            if _token_of(failed.item) == token:
                # This call's own earlier attempt applied (the SDK retried after a lost answer):
                # the stored item is the update's result.
                return from_item(cast("Item", failed.item)), True
            current = self._check_failed(user_id, failed, expected)
            if isinstance(email, Keep) or current.email == email:
                # The stored item satisfies every condition that failed: DynamoDB never does this.
                raise RuntimeError(
                    f"conditional update of {user_id} failed for no stated reason"
                ) from None
            return current, False
        return from_item(response["Attributes"]), True

    def _move_email(self, current: UserRecord, updated: UserRecord, token: str) -> bool:
        """Write `updated` and move the uniqueness record; False if the user changed meanwhile."""
        items: list[Item] = [
            {
                "Put": {
                    "TableName": self._tables.users,
                    "Item": to_item(updated, token),
                    "ConditionExpression": "#version = :version",
                    "ExpressionAttributeNames": {"#version": "version"},
                    "ExpressionAttributeValues": {":version": {"N": str(current.version)}},
                }
            }
        ]
        if current.email is not None:
            items.append(self._release_email(current.email, current.user_id))
        if updated.email is not None:
            items.append(self._claim_email(updated.email, current.user_id))
        try:
            self._transact(items, current.user_id)
        except _Cancelled as cancelled:
            failed = cancelled.failed()
            if failed == 0:
                return False
            if failed == len(items) - 1 and updated.email is not None:
                raise EmailTaken(updated.email) from None
            raise RuntimeError(
                f"email record of user {current.user_id} is not owned by it"
            ) from None
        return True

    def _transact(self, items: list[Item], user_id: str) -> None:
        """Run a write transaction; raises _Cancelled when a condition failed.

        A conflict (another transaction holds one of the items) is retried with a short jittered
        back-off until the deadline; under contention the loser then sees the winner's write.
        Each attempt has its own ClientRequestToken, which the SDK reuses for its own retries, so
        a retry after a lost answer does not apply the transaction twice.
        """
        for _ in _attempts():
            try:
                self.call(
                    "transact_write_items", TransactItems=items, ClientRequestToken=new_token()
                )
                return
            except _Conflict:
                continue
        raise Contention(user_id)

    def _check_failed(
        self, user_id: str, failed: ConditionFailed, expected: set[int] | None
    ) -> UserRecord:
        """The stored user behind a failed conditional write; raises why it failed otherwise."""
        if not failed.item:
            raise UserNotFound(user_id)
        current = from_item(failed.item)
        if expected is not None and current.version not in expected:
            raise VersionMismatch(user_id, current.version)
        return current

    def _claim_email(self, email: str, user_id: str) -> Item:
        return {
            "Put": {
                "TableName": self._tables.emails,
                "Item": {EMAIL_KEY: {"S": email}, USER_KEY: {"S": user_id}},
                "ConditionExpression": f"attribute_not_exists({EMAIL_KEY})",
            }
        }

    def _release_email(self, email: str, user_id: str) -> Item:
        return {
            "Delete": {
                "TableName": self._tables.emails,
                "Key": {EMAIL_KEY: {"S": email}},
                "ConditionExpression": f"{USER_KEY} = :owner",
                "ExpressionAttributeValues": {":owner": {"S": user_id}},
            }
        }


_POOL: list[ThreadPoolExecutor] = []


def _shard_pool() -> ThreadPoolExecutor:
    """The threads that query the shards concurrently: created on first use, reused after."""
    if not _POOL:
        _POOL.append(ThreadPoolExecutor(max_workers=LIST_SHARDS, thread_name_prefix="list-shard"))
    return _POOL[0]


def _version_condition(expected: set[int] | None) -> tuple[str, dict[str, Any]]:
    """`the user exists [and its version is one of expected]`, with its values.

    The version is referred to as `#version` (mapped by the caller: DynamoDB rejects an
    unused name mapping).
    """
    condition = f"attribute_exists({USER_KEY})"
    values: dict[str, Any] = {}
    if expected is not None:
        # No version is 0, so an If-Match that names none of ours can only fail (412, or 404).
        versions = sorted(expected) or [0]
        names = [f":v{i}" for i in range(len(versions))]
        condition += f" AND #version IN ({', '.join(names)})"
        values.update({n: {"N": str(v)} for n, v in zip(names, versions, strict=True)})
    return condition, values


def _expression_maps(values: dict[str, Any]) -> dict[str, Any]:
    """The maps for a condition from `_version_condition`: DynamoDB rejects empty ones."""
    if not values:
        return {}
    return {
        "ExpressionAttributeValues": values,
        "ExpressionAttributeNames": {"#version": "version"},
    }
