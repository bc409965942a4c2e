"""Users in DynamoDB: conditional writes, email uniqueness records, newest-first listing.

Tables (names from the function's environment, users_api.dynamo.Tables):
- users: hash key `user_id`. GSI `created-index` (hash `list_shard`, range `created_key` =
  `<created_at>#<user_id>`, KEYS_ONLY) lists users newest first. The index is write-sharded over
  `LIST_SHARDS` partitions (a user's shard comes from its id), so creates spread over that many
  index partitions; `created_key` never changes and nothing else is projected, so updates of
  fields never write the index.
- emails: hash key `email`, one item per taken address (`{email, user_id}`), written in the same
  transaction as the user: two users never hold one address, and a lookup by email is two strongly
  consistent reads (the record, then the user), so it sees a write made a moment earlier.

Calls, error classification, retries and tokens are the gateway's (users_api.dynamo); the item's
attributes are the record's (users.model.User); listing is users.listing's. What is left here is
the user's own logic: its key, the email's uniqueness record, versions.

Round trips: get 1; lookup by email 2; a list page LIST_SHARDS queries (run concurrently) + 1
BatchGetItem; create 1; update/delete 1 when the email does not change (or the user has none),
otherwise 2 (the conditional write fails cheaply, returns the stored item, and a transaction moves
the uniqueness record).
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Mapping
from dataclasses import replace
from typing import Any, Final, cast

from users_api.dynamo import (
    TOKEN_KEY,
    Cancelled,
    ClaimLost,
    ConditionFailed,
    Contention,
    Dynamo,
    Item,
    StoreError,
    Tables,
    attempts,
    new_token,
    token_of,
)
from users_api.paging import PageTokens
from users_api.records import attribute, now_iso
from users_api.users.listing import ListWindow, UserListing, shard_of
from users_api.users.model import CREATED_KEY, EMAILS_TABLE, SHARD_KEY, TABLE, USER_KEY, User

EMAIL_KEY: Final = "email"
# `<created_at>#<user_id>`, as User.created_key writes it: what a page token may carry.
CREATED_KEY_PATTERN: Final = re.compile(
    r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z#[A-Za-z0-9_-]{1,64}"
)


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


def to_item(user: User, token: str) -> Item:
    """The user's item: its fields, its list-index keys and the writing request's token."""
    item = user.to_item()
    item[SHARD_KEY] = {"S": shard_of(user.user_id)}
    item[CREATED_KEY] = {"S": user.created_key}
    item[TOKEN_KEY] = {"S": token}
    return item


class UserRepository:
    def __init__(self, db: Dynamo, tables: Tables) -> None:
        self._db = db
        self._users = tables.name(TABLE)
        self._emails = tables.name(EMAILS_TABLE)
        self.listing = UserListing(db, self._users, os.environ.get("LIST_INDEX", "created-index"))
        self.tokens = PageTokens(self._users, CREATED_KEY_PATTERN)

    # -- reads ------------------------------------------------------------------------------

    def get(self, user_id: str) -> User | None:
        response = self._db.call(
            "get_item",
            TableName=self._users,
            Key={USER_KEY: {"S": user_id}},
            ConsistentRead=True,
        )
        item = response.get("Item")
        return User.from_item(item) if item else None

    def get_by_email(self, email: str) -> User | None:
        """The user holding `email`: its uniqueness record, then the user, both consistent."""
        for _ in range(2):  # the address may move between the two reads: look once more
            record = self._db.call(
                "get_item",
                TableName=self._emails,
                Key={EMAIL_KEY: {"S": email}},
                ConsistentRead=True,
            ).get("Item")
            if not record:
                return None
            user = self.get(record[USER_KEY]["S"])
            if user is not None and user.email == email:
                return user
        return None

    def list_page(self, limit: int, window: ListWindow) -> tuple[list[User], str | None]:
        """Up to `limit` users of `window`, newest first; the key to continue after, or None."""
        return self.listing.page(limit, window)

    # -- writes -----------------------------------------------------------------------------

    def create(self, user: User, *, also: Iterable[Item] = ()) -> User:
        """Write a new user (and claim its email); `also`: more transaction items (idempotency).

        Raises UserExists, EmailTaken, or ClaimLost when a condition of an `also` item failed.
        """
        token = new_token()
        put = {
            "TableName": self._users,
            "Item": to_item(user, token),
            "ConditionExpression": f"attribute_not_exists({USER_KEY})",
        }
        extra = list(also)
        if user.email is None and not extra:
            try:
                self._db.write(
                    "put_item", user.user_id, **put, ReturnValuesOnConditionCheckFailure="ALL_OLD"
                )
            except ConditionFailed as failed:
                if token_of(failed.item) == token:
                    return user  # the first attempt applied; its response was lost
                raise UserExists(user.user_id) from None
            return user
        items: list[Item] = [{"Put": put}]
        if user.email is not None:
            items.append(self._claim_email(user.email, user.user_id))
        try:
            self._db.transact(items + extra, user.user_id)
        except Cancelled as cancelled:
            if cancelled.failed() == 0:
                raise UserExists(user.user_id) from None
            if cancelled.failed() == 1 and user.email is not None:
                raise EmailTaken(user.email) from None
            raise ClaimLost(user.user_id) from None
        return user

    def update(
        self,
        user_id: str,
        changes: Mapping[str, Any],
        *,
        expected_versions: Iterable[int] | None = None,
    ) -> User:
        """Apply `changes` (field -> value; None removes an optional field); bump the version.

        A field absent from `changes` stays as it is. `expected_versions` (from `If-Match`)
        makes the write conditional on the stored version. Raises UserNotFound,
        VersionMismatch, EmailTaken or Contention.
        """
        expected = set(expected_versions) if expected_versions is not None else None
        token = new_token()
        for _ in attempts():
            current, updated_in_place = self._update_in_place(user_id, changes, expected, token)
            if updated_in_place:
                return current
            # The email changes: move its uniqueness record in one transaction with the user.
            updated = replace(current, **changes, updated_at=now_iso(), version=current.version + 1)
            if self._move_email(current, updated, token):
                return updated
            if expected is not None:
                # The user changed since we read it, so it no longer has an expected version.
                raise VersionMismatch(user_id, current.version + 1)
        raise Contention(user_id)

    def delete(self, user_id: str, *, expected_versions: Iterable[int] | None = None) -> None:
        expected = set(expected_versions) if expected_versions is not None else None
        for _ in attempts():
            condition, values = _version_condition(expected)
            condition += f" AND attribute_not_exists({EMAIL_KEY})"
            try:
                self._db.write(
                    "delete_item",
                    user_id,
                    TableName=self._users,
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
                "TableName": self._users,
                "Key": {USER_KEY: {"S": user_id}},
                "ConditionExpression": "#version = :version",
                "ExpressionAttributeNames": {"#version": "version"},
                "ExpressionAttributeValues": {":version": {"N": str(current.version)}},
            }
            try:
                self._db.transact(
                    [{"Delete": delete}, self._release_email(current.email, user_id)], user_id
                )
                return
            except Cancelled as cancelled:
                if cancelled.failed() != 0:
                    raise RuntimeError(
                        f"email record of user {user_id} is not owned by it"
                    ) from None
            if expected is not None:
                raise VersionMismatch(user_id, current.version + 1)
        raise Contention(user_id)

    # -- internals --------------------------------------------------------------------------

    def _update_in_place(
        self, user_id: str, changes: Mapping[str, Any], expected: set[int] | None, token: str
    ) -> tuple[User, bool]:
        """Update without touching the email's uniqueness record.

        Returns (the updated user, True), or — when the email would change — (the stored user,
        False): the caller then moves the uniqueness record. Raises UserNotFound / VersionMismatch.
        """
        condition, values = _version_condition(expected)
        # Not already applied by this call: an SDK retry after a lost answer then fails here and
        # finds its own token on the item, instead of bumping the version a second time.
        condition += " AND (attribute_not_exists(#token) OR #token <> :token)"
        sets = ["updated_at = :now", "#version = #version + :one", "#token = :token"]
        removes: list[str] = []
        values.update({":now": {"S": now_iso()}, ":one": {"N": "1"}, ":token": {"S": token}})
        names = {"#version": "version", "#token": TOKEN_KEY}
        for position, (field, value) in enumerate(changes.items()):
            if field == EMAIL_KEY:
                continue  # unique: moved by transaction unless it stays as it is (below)
            names[f"#f{position}"] = field
            if value is None:
                removes.append(f"#f{position}")
            else:
                sets.append(f"#f{position} = :f{position}")
                values[f":f{position}"] = attribute(value)
        if EMAIL_KEY in changes:
            email = changes[EMAIL_KEY]
            if email is None:
                condition += f" AND attribute_not_exists({EMAIL_KEY})"
            else:
                condition += f" AND {EMAIL_KEY} = :email"
                values[":email"] = {"S": email}
        expression = "SET " + ", ".join(sets) + (" REMOVE " + ", ".join(removes) if removes else "")
        try:
            response = self._db.write(
                "update_item",
                user_id,
                TableName=self._users,
                Key={USER_KEY: {"S": user_id}},
                UpdateExpression=expression,
                ConditionExpression=condition,
                ExpressionAttributeValues=values,
                ExpressionAttributeNames=names,
                ReturnValues="ALL_NEW",
                ReturnValuesOnConditionCheckFailure="ALL_OLD",
            )
        except ConditionFailed as failed:
            if token_of(failed.item) == token:
                # This call's own earlier attempt applied (the SDK retried after a lost answer):
                # the stored item is the update's result.
                return User.from_item(cast("Item", failed.item)), True
            current = self._check_failed(user_id, failed, expected)
            if EMAIL_KEY not in changes or current.email == changes[EMAIL_KEY]:
                # The stored item satisfies every condition that failed: DynamoDB never does this.
                raise RuntimeError(
                    f"conditional update of {user_id} failed for no stated reason"
                ) from None
            return current, False
        return User.from_item(response["Attributes"]), True

    def _move_email(self, current: User, updated: User, token: str) -> bool:
        """Write `updated` and move the uniqueness record; False if the user changed meanwhile."""
        items: list[Item] = [
            {
                "Put": {
                    "TableName": self._users,
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
            self._db.transact(items, current.user_id)
        except Cancelled as cancelled:
            failed = cancelled.failed()
            if failed == 0:
                return False
            if failed == len(items) - 1 and updated.email is not None:
                raise EmailTaken(updated.email) from None
            raise RuntimeError(
                f"email record of user {current.user_id} is not owned by it"
            ) from None
        return True

    def _check_failed(
        self, user_id: str, failed: ConditionFailed, expected: set[int] | None
    ) -> User:
        """The stored user behind a failed conditional write; raises why it failed otherwise."""
        if not failed.item:
            raise UserNotFound(user_id)
        current = User.from_item(failed.item)
        if expected is not None and current.version not in expected:
            raise VersionMismatch(user_id, current.version)
        return current

    def _claim_email(self, email: str, user_id: str) -> Item:
        return {
            "Put": {
                "TableName": self._emails,
                "Item": {EMAIL_KEY: {"S": email}, USER_KEY: {"S": user_id}},
                "ConditionExpression": f"attribute_not_exists({EMAIL_KEY})",
            }
        }

    def _release_email(self, email: str, user_id: str) -> Item:
        return {
            "Delete": {
                "TableName": self._emails,
                "Key": {EMAIL_KEY: {"S": email}},
                "ConditionExpression": f"{USER_KEY} = :owner",
                "ExpressionAttributeValues": {":owner": {"S": user_id}},
            }
        }


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
