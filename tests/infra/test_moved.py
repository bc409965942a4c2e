"""An existing stack survives the tables map: the layout before it (three table resources, the
commit LAYOUT_BEFORE_TABLES_MAP) is applied and written to, then the current layout is planned
and applied on the same state. The `moved` blocks carry every table to its new address, so the
plan destroys and replaces nothing, and the items written before are still there afterwards.

One apply of each layout on the session's emulator, under their own name.
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tools.localaws.emulator import Emulator
from tools.localaws.stage import REPO, RUNTIMES_JSON, Plan, Stack

pytestmark = pytest.mark.slow

# The last commit with aws_dynamodb_table.users, .user_emails and .idempotency.
LAYOUT_BEFORE_TABLES_MAP = "dc773022c5bd3939ce65bf83104600b12584b353"
VARIABLES: dict[str, Any] = {"name": "users-moved", "environment": "dev"}
MOVES = {
    "aws_dynamodb_table.users": 'aws_dynamodb_table.tables["users"]',
    "aws_dynamodb_table.user_emails": 'aws_dynamodb_table.tables["emails"]',
    "aws_dynamodb_table.idempotency": 'aws_dynamodb_table.tables["idempotency"]',
}
ITEMS = {
    "users": {"user_id": {"S": "01"}, "name": {"S": "Joy"}},
    "user-emails": {"email": {"S": "joy@example.com"}, "user_id": {"S": "01"}},
    "idempotency": {"idempotency_key": {"S": "k-1"}, "expires_at": {"N": "4102444800"}},
}


def _git(*args: str) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(["git", "-C", str(REPO), *args], capture_output=True, check=False)


def old_layout(dest: Path) -> Path:
    """The root module as of LAYOUT_BEFORE_TABLES_MAP: its *.tf and runtimes list, with today's
    build program (so both layouts deploy the same package and only the layout differs)."""
    if _git("cat-file", "-e", f"{LAYOUT_BEFORE_TABLES_MAP}^{{commit}}").returncode != 0:
        # A shallow clone (CI's checkout): fetch that one commit.
        _git("fetch", "--quiet", "--depth=1", "origin", LAYOUT_BEFORE_TABLES_MAP)
    listed = _git("ls-tree", "--name-only", LAYOUT_BEFORE_TABLES_MAP)
    assert listed.returncode == 0, f"commit {LAYOUT_BEFORE_TABLES_MAP} is not available: {listed}"
    names = [name for name in listed.stdout.decode().split() if name.endswith(".tf")]
    assert 'aws_dynamodb_table" "users"' in _show("main.tf")
    for name in [*names, RUNTIMES_JSON]:
        (dest / name).parent.mkdir(parents=True, exist_ok=True)
        (dest / name).write_text(_show(name))
    (dest / "tools").mkdir()
    (dest / "tools" / "build.py").symlink_to(REPO / "tools" / "build.py")
    return dest


def _show(name: str) -> str:
    shown = _git("show", f"{LAYOUT_BEFORE_TABLES_MAP}:{name}")
    assert shown.returncode == 0, shown.stderr.decode()
    return shown.stdout.decode()


@dataclass
class Migration:
    plan: Plan
    before: dict[str, dict[str, Any]]  # table name -> describe_table before the new layout
    new: Stack


@pytest.fixture(scope="module")
def migration(emulator: Emulator, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Migration]:
    old = Stack(emulator.endpoint, name="moved", root=old_layout(tmp_path_factory.mktemp("old")))
    old.apply(VARIABLES)
    dynamodb = emulator.client("dynamodb")
    before = {}
    for suffix, item in ITEMS.items():
        table = f"users-moved-dev-{suffix}"
        dynamodb.put_item(TableName=table, Item=item)
        before[table] = dynamodb.describe_table(TableName=table)["Table"]

    new = Stack(emulator.endpoint, name="moved-new")
    new.stage(VARIABLES)
    shutil.copyfile(old.workdir / "terraform.tfstate", new.workdir / "terraform.tfstate")
    plan = new.plan()
    new.apply(VARIABLES)
    # Not destroyed: its names are its own, and the session's emulator goes with everything in
    # it (tests/infra/test_destroy.py proves destroy on the default stack).
    try:
        yield Migration(plan, before, new)
    finally:
        new.remove()


def test_plan_moves_every_table_and_destroys_nothing(migration: Migration) -> None:
    changes = {
        change["address"]: change
        for change in migration.plan.json["resource_changes"]
        if change["address"].startswith("aws_dynamodb_table.")
    }
    assert {address: change.get("previous_address") for address, change in changes.items()} == {
        new: old for old, new in MOVES.items()
    }
    for change in changes.values():
        assert change["change"]["actions"] == ["no-op"], change["address"]
    # Nor is anything else destroyed or replaced (the layouts may differ in what they add).
    destroyed = [(c.address, c.actions) for c in migration.plan.changes if "delete" in c.actions]
    assert destroyed == []


def test_tables_and_their_items_survive_the_new_layout(
    migration: Migration, emulator: Emulator
) -> None:
    dynamodb = emulator.client("dynamodb")
    for suffix, item in ITEMS.items():
        table = f"users-moved-dev-{suffix}"
        after = dynamodb.describe_table(TableName=table)["Table"]
        assert after["CreationDateTime"] == migration.before[table]["CreationDateTime"]
        assert after["TableArn"] == migration.before[table]["TableArn"]
        key = {name: item[name] for name in (k["AttributeName"] for k in after["KeySchema"])}
        assert dynamodb.get_item(TableName=table, Key=key, ConsistentRead=True)["Item"] == item
    addresses = set(migration.new.resources())
    assert set(MOVES.values()) <= addresses
    assert not set(MOVES) & addresses
