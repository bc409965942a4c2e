"""The emulator's DynamoDB atomicity shim (tools/localaws/emulator_shims.py).

moto runs a transaction with no lock: it copies the tables, checks and writes each item, and puts
the copy back when a condition fails. Here the first of two transactions that put one item
`attribute_not_exists` is held between its copy and its check. DynamoDB lets exactly one of them
succeed and keeps what that one wrote, and so must the emulator.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.tables import hash_key
from tests.unit.conftest import TABLE_NAMES
from tools.localaws.emulator_shims import dynamodb_atomic_writes

TABLE = "emails"


@dataclass(frozen=True)
class Hold:
    held: threading.Event  # the first transaction is waiting in its check
    release: threading.Event  # set to let it go on


@dataclass(frozen=True)
class Race:
    outcomes: list[str]  # each transaction's, sorted
    items: list[Any]  # the table's after both
    second_waited: bool  # the second was still running when the first was let go


@pytest.fixture
def held_first_check() -> Iterator[Hold]:
    """The first item read moto makes (a transaction's condition check) waits for `release`;
    later ones go through."""
    from moto.dynamodb.models import DynamoDBBackend

    hold = Hold(threading.Event(), threading.Event())
    original = DynamoDBBackend.get_item
    first = threading.Lock()

    def get_item(self: Any, *args: Any, **kwargs: Any) -> Any:
        if first.acquire(blocking=False):
            hold.held.set()
            hold.release.wait(timeout=30)
        return original(self, *args, **kwargs)

    DynamoDBBackend.get_item = get_item  # type: ignore[method-assign]
    try:
        yield hold
    finally:
        hold.release.set()
        DynamoDBBackend.get_item = original  # type: ignore[method-assign]


def race_two_transactions(dynamodb: Any, hold: Hold) -> Race:
    """Two TransactWriteItems putting one key `attribute_not_exists`, the first held in its check
    while the second is sent."""
    table, key = TABLE_NAMES[TABLE], hash_key(TABLE)
    outcomes: list[str] = []

    def transact(owner: str) -> Callable[[], None]:
        def run() -> None:
            item = {key: {"S": "same@example.com"}, "owner": {"S": owner}}
            put = {
                "TableName": table,
                "Item": item,
                "ConditionExpression": f"attribute_not_exists({key})",
            }
            try:
                dynamodb.transact_write_items(TransactItems=[{"Put": put}])
                outcomes.append("written")
            except ClientError as error:
                outcomes.append(error.response["Error"]["Code"])

        return run

    first = threading.Thread(target=transact("first"))
    first.start()
    assert hold.held.wait(timeout=30)
    second = threading.Thread(target=transact("second"))
    second.start()
    # Unlocked, the second finishes at once (joined early); locked, it waits for the first: given a
    # second to run, it is still waiting. The outcomes are asserted, not the time.
    second.join(timeout=1)
    second_waited = second.is_alive()
    hold.release.set()
    first.join()
    second.join()
    return Race(sorted(outcomes), dynamodb.scan(TableName=table)["Items"], second_waited)


def test_without_the_shim_moto_loses_the_write_it_reported(
    dynamodb: Any, held_first_check: Hold
) -> None:
    # What the shim is for (if moto ever becomes atomic itself, this fails and the shim can go):
    # the held transaction fails its check on the other's item, then puts back its copy of the
    # table from before that item was written.
    race = race_two_transactions(dynamodb, held_first_check)
    assert not race.second_waited
    assert race.outcomes == ["TransactionCanceledException", "written"]
    assert race.items == []


def test_with_the_shim_exactly_one_transaction_writes_and_its_item_stays(
    dynamodb: Any, held_first_check: Hold
) -> None:
    undo = dynamodb_atomic_writes()  # over the held read, as the emulator installs it over moto
    try:
        race = race_two_transactions(dynamodb, held_first_check)
    finally:
        undo()
    assert race.second_waited
    assert race.outcomes == ["TransactionCanceledException", "written"]
    assert [item["owner"] for item in race.items] == [{"S": "first"}]
