"""Users in DynamoDB: conditional writes, email uniqueness records, O(page) listing.

Tables (names from the function's environment, key names defined here once):
- users: hash key `user_id`; sparse GSI `EMAIL_INDEX` on `email` for O(1) lookup by email.
- emails: hash key `email`, one item per taken address (`{email, user_id}`). Creating or changing
  an email writes it in the same transaction as the user, so two users can never hold one address.

Round trips: get, get-by-email, list and create take one. Update and delete take one when the
email does not change (or the user has none); otherwise the first, conditional attempt fails
cheaply, returns the stored item, and a transaction moves the uniqueness record (two in all).
"""

from __future__ import annotations

import os
import random
import time
from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Final, cast

from botocore.exceptions import ClientError

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.client import DynamoDBClient

USER_KEY: Final = "user_id"
EMAIL_KEY: Final = "email"
# Optimistic writes: every failed attempt means another writer succeeded in between, so N
# concurrent writers of one user all finish within N attempts.
MAX_ATTEMPTS: Final = 16

Item = dict[str, Any]


class StoreError(Exception):
    """Base for the store's outcomes that a caller turns into a response."""


class UserExists(StoreError):
    pass


class EmailTaken(StoreError):
    pass


class UserNotFound(StoreError):
    pass


class Contention(StoreError):
    """The user kept changing under this write for MAX_ATTEMPTS attempts."""


class VersionMismatch(StoreError):
    def __init__(self, current: int) -> None:
        super().__init__(f"current version is {current}")
        self.current = current


class Keep:
    """Marker: leave a field as it is (distinct from None, which removes it)."""


KEEP: Final = Keep()


@dataclass(frozen=True, slots=True)
class Tables:
    users: str
    emails: str
    email_index: str

    @classmethod
    def from_environment(cls) -> Tables:
        try:
            return cls(
                users=os.environ["USERS_TABLE"],
                emails=os.environ["EMAILS_TABLE"],
                email_index=os.environ.get("EMAIL_INDEX", "email-index"),
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

    def as_dict(self) -> dict[str, Any]:
        return {
            "user_id": self.user_id,
            "name": self.name,
            "email": self.email,
            "created_at": self.created_at,
            "updated_at": self.updated_at,
            "version": self.version,
        }


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def to_item(user: UserRecord) -> Item:
    item: Item = {
        USER_KEY: {"S": user.user_id},
        "name": {"S": user.name},
        "created_at": {"S": user.created_at},
        "updated_at": {"S": user.updated_at},
        "version": {"N": str(user.version)},
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


class UserStore:
    def __init__(self, client: DynamoDBClient, tables: Tables) -> None:
        self._client = client
        self._tables = tables

    # -- reads ------------------------------------------------------------------------------

    def get(self, user_id: str) -> UserRecord | None:
        response = self._client.get_item(
            TableName=self._tables.users, Key={USER_KEY: {"S": user_id}}, ConsistentRead=True
        )
        item = response.get("Item")
        return from_item(item) if item else None

    def get_by_email(self, email: str) -> UserRecord | None:
        response = self._client.query(
            TableName=self._tables.users,
            IndexName=self._tables.email_index,
            KeyConditionExpression="#email = :email",
            ExpressionAttributeNames={"#email": EMAIL_KEY},
            ExpressionAttributeValues={":email": {"S": email}},
            Limit=1,
        )
        items = response.get("Items") or []
        return from_item(items[0]) if items else None

    def list_page(self, limit: int, after: str | None) -> tuple[list[UserRecord], str | None]:
        """Up to `limit` users after the user id `after`; the id to continue from, or None.

        Reads one item more than the page so a full last page is not followed by an empty one;
        only a scan that stops at DynamoDB's 1 MB response cap takes another round trip.
        """
        items: list[Item] = []
        start: Item | None = {USER_KEY: {"S": after}} if after else None
        while True:
            kwargs: dict[str, Any] = {
                "TableName": self._tables.users,
                "Limit": limit + 1 - len(items),
            }
            if start:
                kwargs["ExclusiveStartKey"] = start
            response = self._client.scan(**kwargs)
            items.extend(response.get("Items", []))
            start = response.get("LastEvaluatedKey")
            if len(items) > limit or not start:
                # Only the page is unmarshalled; the look-ahead item just says there is more.
                users = [from_item(item) for item in items[:limit]]
                return users, (users[-1].user_id if len(items) > limit else None)

    # -- writes -----------------------------------------------------------------------------

    def create(self, user: UserRecord) -> None:
        item = to_item(user)
        not_exists = f"attribute_not_exists({USER_KEY})"
        if user.email is None:
            try:
                self._client.put_item(
                    TableName=self._tables.users, Item=item, ConditionExpression=not_exists
                )
            except ClientError as error:
                if _code(error) == "ConditionalCheckFailedException":
                    raise UserExists(user.user_id) from None
                raise
            return
        put = {"TableName": self._tables.users, "Item": item, "ConditionExpression": not_exists}
        failed = self._transact([{"Put": put}, self._claim_email(user.email, user.user_id)])
        if failed == 0:
            raise UserExists(user.user_id)
        if failed == 1:
            raise EmailTaken(user.email)

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
        Raises UserNotFound, VersionMismatch or EmailTaken.
        """
        expected = set(expected_versions) if expected_versions is not None else None
        for attempt in range(MAX_ATTEMPTS):
            if attempt:
                _back_off(attempt)
            current, updated_in_place = self._update_in_place(user_id, name, email, expected)
            if updated_in_place:
                return current
            # The email changes: move its uniqueness record in one transaction with the user.
            new_name = current.name if isinstance(name, Keep) else name
            assert not isinstance(email, Keep)
            updated = replace(
                current,
                name=new_name,
                email=email,
                updated_at=now_iso(),
                version=current.version + 1,
            )
            if self._move_email(current, updated):
                return updated
            if expected is not None:
                # The user changed since we read it, so it no longer has an expected version.
                raise VersionMismatch(current.version + 1)
        raise Contention(user_id)

    def delete(self, user_id: str, *, expected_versions: Iterable[int] | None = None) -> None:
        expected = set(expected_versions) if expected_versions is not None else None
        for attempt in range(MAX_ATTEMPTS):
            if attempt:
                _back_off(attempt)
            condition, values = _version_condition(expected)
            condition += f" AND attribute_not_exists({EMAIL_KEY})"
            try:
                self._client.delete_item(
                    TableName=self._tables.users,
                    Key={USER_KEY: {"S": user_id}},
                    ConditionExpression=condition,
                    **_expression_maps(values),
                    ReturnValuesOnConditionCheckFailure="ALL_OLD",
                )
                return
            except ClientError as error:
                current = self._check_failed(error, expected)
            if current.email is None:
                continue  # its email was removed meanwhile; the plain delete applies again
            delete = {
                "TableName": self._tables.users,
                "Key": {USER_KEY: {"S": user_id}},
                "ConditionExpression": "#version = :version",
                "ExpressionAttributeNames": {"#version": "version"},
                "ExpressionAttributeValues": {":version": {"N": str(current.version)}},
            }
            failed = self._transact(
                [{"Delete": delete}, self._release_email(current.email, user_id)]
            )
            if failed is None:
                return
            if failed != 0:
                raise RuntimeError(f"email record of user {user_id} is not owned by it")
            if expected is not None:
                raise VersionMismatch(current.version + 1)
        raise Contention(user_id)

    # -- internals --------------------------------------------------------------------------

    def _update_in_place(
        self, user_id: str, name: str | Keep, email: str | Keep | None, expected: set[int] | None
    ) -> tuple[UserRecord, bool]:
        """Update without touching the email's uniqueness record.

        Returns (the updated user, True), or — when the email would change — (the stored user,
        False): the caller then moves the uniqueness record. Raises UserNotFound / VersionMismatch.
        """
        condition, values = _version_condition(expected)
        sets = ["updated_at = :now", "#version = #version + :one"]
        values[":now"] = {"S": now_iso()}
        values[":one"] = {"N": "1"}
        names = {"#version": "version"}
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
            response = self._client.update_item(
                TableName=self._tables.users,
                Key={USER_KEY: {"S": user_id}},
                UpdateExpression="SET " + ", ".join(sets),
                ConditionExpression=condition,
                ExpressionAttributeValues=values,
                ExpressionAttributeNames=names,
                ReturnValues="ALL_NEW",
                ReturnValuesOnConditionCheckFailure="ALL_OLD",
            )
        except ClientError as error:
            current = self._check_failed(error, expected)
            if isinstance(email, Keep) or current.email == email:
                # The stored item satisfies every condition that failed: DynamoDB never does this.
                raise RuntimeError(
                    f"conditional update of {user_id} failed for no stated reason"
                ) from None
            return current, False
        return from_item(response["Attributes"]), True

    def _move_email(self, current: UserRecord, updated: UserRecord) -> bool:
        """Write `updated` and move the uniqueness record; False if the user changed meanwhile."""
        items: list[Any] = [
            {
                "Put": {
                    "TableName": self._tables.users,
                    "Item": to_item(updated),
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
        failed = self._transact(items)
        if failed == 0:
            return False
        if failed == len(items) - 1 and updated.email is not None:
            raise EmailTaken(updated.email)
        if failed is not None:
            raise RuntimeError(f"email record of user {current.user_id} is not owned by it")
        return True

    def _transact(self, items: list[Any]) -> int | None:
        """Run a write transaction; the index of the item whose condition failed, or None.

        A `TransactionConflict` (another transaction holds one of the items) is retried with a
        short jittered back-off: under contention the loser then sees the winner's write.
        """
        for attempt in range(MAX_ATTEMPTS):
            if attempt:
                _back_off(attempt)
            try:
                self._client.transact_write_items(TransactItems=items)
                return None
            except ClientError as error:
                reasons = _cancellation_reasons(error)
            if "ConditionalCheckFailed" in reasons:
                return reasons.index("ConditionalCheckFailed")
            if "TransactionConflict" not in reasons:
                raise RuntimeError(f"transaction cancelled: {reasons}")
        raise Contention(str(items))

    def _check_failed(self, error: ClientError, expected: set[int] | None) -> UserRecord:
        """The stored user behind a failed conditional write; raises why it failed otherwise."""
        if _code(error) != "ConditionalCheckFailedException":
            raise error
        item = cast("Item | None", error.response.get("Item"))
        if not item:
            raise UserNotFound() from None
        current = from_item(item)
        if expected is not None and current.version not in expected:
            raise VersionMismatch(current.version) from None
        return current

    def _claim_email(self, email: str, user_id: str) -> Any:
        return {
            "Put": {
                "TableName": self._tables.emails,
                "Item": {EMAIL_KEY: {"S": email}, USER_KEY: {"S": user_id}},
                "ConditionExpression": f"attribute_not_exists({EMAIL_KEY})",
            }
        }

    def _release_email(self, email: str, user_id: str) -> Any:
        return {
            "Delete": {
                "TableName": self._tables.emails,
                "Key": {EMAIL_KEY: {"S": email}},
                "ConditionExpression": f"{USER_KEY} = :owner",
                "ExpressionAttributeValues": {":owner": {"S": user_id}},
            }
        }


def _back_off(attempt: int) -> None:
    """Sleep a jittered few milliseconds so contending writers spread out."""
    time.sleep(random.uniform(0, min(0.002 * 2**attempt, 0.05)))


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


def _code(error: ClientError) -> str:
    return str(error.response.get("Error", {}).get("Code", ""))


def _cancellation_reasons(error: ClientError) -> list[str]:
    if _code(error) != "TransactionCanceledException":
        raise error
    reasons = error.response.get("CancellationReasons") or []
    return [str(reason.get("Code", "None")) for reason in reasons] or ["Unknown"]
