"""`terraform destroy` leaves nothing behind. Runs last: it ends the shared stack."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from tests.conftest import EmulatorStack

pytestmark = [pytest.mark.slow, pytest.mark.destroys_stack]


def test_destroy_leaves_nothing_of_the_stack_in_the_emulator(
    emulator_stack: EmulatorStack,
) -> None:
    # Other configurations may share the emulator: what counts is everything named for this one.
    prefix = f"{emulator_stack.variables['name']}-{emulator_stack.variables['environment']}"
    emulator_stack.destroy()
    client = emulator_stack.client

    assert [t for t in client("dynamodb").list_tables()["TableNames"] if t.startswith(prefix)] == []
    functions = client("lambda").list_functions()["Functions"]
    assert [f for f in functions if f["FunctionName"].startswith(prefix)] == []
    assert [a for a in client("apigatewayv2").get_apis()["Items"] if a["Name"] == prefix] == []
    roles = client("iam").list_roles()["Roles"]
    assert [r for r in roles if r["RoleName"].startswith(prefix)] == []
    groups = client("logs").describe_log_groups()["logGroups"]
    assert [g for g in groups if prefix in g["logGroupName"]] == []
    dashboards = client("cloudwatch").list_dashboards(DashboardNamePrefix=prefix)
    assert dashboards["DashboardEntries"] == []
    variables = emulator_stack.variables
    parameter_path = f"/{variables['name']}/{variables['environment']}"
    assert client("ssm").get_parameters_by_path(Path=parameter_path)["Parameters"] == []
    state = json.loads((emulator_stack.stack.workdir / "terraform.tfstate").read_text())
    assert state["resources"] == []
