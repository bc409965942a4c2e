"""`terraform destroy` leaves nothing behind. Runs last: it ends the shared stack."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from tests.conftest import EmulatorStack

pytestmark = [pytest.mark.slow, pytest.mark.destroys_stack]


def test_destroy_leaves_nothing_in_the_emulator(emulator_stack: EmulatorStack) -> None:
    emulator_stack.destroy()
    client = emulator_stack.client

    assert client("dynamodb").list_tables()["TableNames"] == []
    assert client("lambda").list_functions()["Functions"] == []
    assert client("apigatewayv2").get_apis()["Items"] == []
    assert client("iam").list_roles()["Roles"] == []
    assert client("logs").describe_log_groups()["logGroups"] == []
    state = json.loads((emulator_stack.stack.workdir / "terraform.tfstate").read_text())
    assert state["resources"] == []
