"""Listing users newest first through the write-sharded `created-index` (see users.repository).

Each shard is queried for its newest keys in the window (concurrently, on a small pool created on
first use), the answers merged, and the page's users read in one consistent BatchGetItem.
"""

from __future__ import annotations

import contextvars
import heapq
import zlib
from concurrent.futures import ThreadPoolExecutor, wait
from dataclasses import dataclass, replace
from typing import Any, Final

from users_api.dynamo import Dynamo, Unavailable, attempts
from users_api.users.model import CREATED_KEY, SHARD_KEY, USER_KEY, User

LIST_SHARDS: Final = 4


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


def shard_of(user_id: str) -> str:
    """The list shard of a user: stable, and spread evenly over LIST_SHARDS."""
    return str(zlib.crc32(user_id.encode()) % LIST_SHARDS)


class UserListing:
    def __init__(self, db: Dynamo, table: str, index: str) -> None:
        self._db = db
        self._users = table
        self._list_index = index

    def page(self, limit: int, window: ListWindow) -> tuple[list[User], str | None]:
        """Up to `limit` users of `window`, newest first; the key to continue after, or None.

        Each shard is queried for its newest keys in the window (concurrently), the answers
        merged, and the page's users read in one consistent BatchGetItem: LIST_SHARDS + 1 round
        trips. A user deleted since the index was read is skipped and the page filled from the
        next keys (one more BatchGetItem, or one more round of queries when those run out).
        """
        users: list[User] = []
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
        response = self._db.call(
            "query",
            TableName=self._users,
            IndexName=self._list_index,
            KeyConditionExpression=condition,
            ExpressionAttributeNames=names,
            ExpressionAttributeValues=values,
            ScanIndexForward=False,
            # One more than needed: the `after` key itself may be among them (BETWEEN is inclusive).
            Limit=count + 1,
        )
        keys = [(item[CREATED_KEY]["S"], item[USER_KEY]["S"]) for item in response["Items"]]
        return keys, "LastEvaluatedKey" in response

    def _batch_get(self, user_ids: list[str]) -> dict[str, User]:
        """The users with these ids (at most 100), read consistently; missing ones are absent."""
        keys = {"Keys": [{USER_KEY: {"S": uid}} for uid in user_ids], "ConsistentRead": True}
        request: dict[str, Any] = {self._users: keys}
        found: dict[str, User] = {}
        for _ in attempts():
            response = self._db.call("batch_get_item", RequestItems=request)
            for item in response.get("Responses", {}).get(self._users, []):
                user = User.from_item(item)
                found[user.user_id] = user
            request = response.get("UnprocessedKeys") or {}
            if not request:
                return found
        raise Unavailable("BatchGetItem left keys unprocessed")


_POOL: list[ThreadPoolExecutor] = []


def _shard_pool() -> ThreadPoolExecutor:
    """The threads that query the shards concurrently: created on first use, reused after."""
    if not _POOL:
        _POOL.append(ThreadPoolExecutor(max_workers=LIST_SHARDS, thread_name_prefix="list-shard"))
    return _POOL[0]
