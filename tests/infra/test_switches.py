"""The operations switches that no applied configuration turns on, checked in the plan (SnapStart
excludes prod's provisioned concurrency), and staging.tfvars planned. (The new variables'
validation rules are in test_terraform.py's bad-values test, one plan for all.)"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

import pytest

from tools.localaws.stage import REPO

if TYPE_CHECKING:
    from tests.conftest import EmulatorStack

pytestmark = pytest.mark.slow

USERS_TABLE = 'aws_dynamodb_table.tables["users"]'


def test_snap_start_applies_to_published_versions(emulator_stack: EmulatorStack) -> None:
    stack = emulator_stack.stack
    stack.terraform(
        "plan",
        "-input=false",
        "-refresh=false",
        "-var=lambda_snap_start=true",
        "-out=snapstart.tfplan",
        step="plan",
    )
    shown = json.loads(stack.terraform("show", "-json", "snapstart.tfplan", step="show").stdout)
    changes = {change["address"]: change["change"] for change in shown["resource_changes"]}
    function = changes["aws_lambda_function.users_api"]
    assert function["actions"] == ["update"]
    [snap_start] = function["after"]["snap_start"]
    assert snap_start["apply_on"] == "PublishedVersions"
    assert function["after"]["publish"] is True


def test_snap_start_with_provisioned_concurrency_is_refused(
    emulator_stack: EmulatorStack,
) -> None:
    result = emulator_stack.stack.terraform(
        "plan",
        "-input=false",
        "-refresh=false",
        "-var=lambda_snap_start=true",
        "-var=lambda_provisioned_concurrency=2",
        step="plan",
        ok_codes=(1,),
    )
    message = " ".join(result.stderr.split())
    assert "lambda_snap_start needs python3.12 or later and lambda_provisioned_concurrency = 0" in (
        message.replace("│ ", "")
    )


@pytest.mark.parametrize(
    ("environment", "alarms", "billing_mode"),
    # dev.tfvars is the default configuration (emulator_stack) in all but log settings.
    [("staging", 14, "PAY_PER_REQUEST")],
)
def test_environment_tfvars_plan_as_documented(
    emulator_stack: EmulatorStack, environment: str, alarms: int, billing_mode: str
) -> None:
    # prod.tfvars is applied in full (test_prod.py); staging is planned (a whole stack).
    stack = emulator_stack.stack
    plan_file = f"{environment}.tfplan"
    stack.terraform(
        "plan",
        "-input=false",
        "-refresh=false",
        f"-var-file={REPO / 'environments' / f'{environment}.tfvars'}",
        f"-out={plan_file}",
        step="plan",
        ok_codes=(0, 2),
    )
    shown = json.loads(stack.terraform("show", "-json", plan_file, step="show").stdout)
    after = {
        change["address"]: change["change"]["after"]
        for change in shown["resource_changes"]
        if change["change"]["actions"] != ["delete"]
    }
    assert after[USERS_TABLE]["name"] == f"users-api-{environment}-users"
    assert after[USERS_TABLE]["billing_mode"] == billing_mode
    assert after[USERS_TABLE]["deletion_protection_enabled"] is False
    assert sum(a.startswith("aws_cloudwatch_metric_alarm.") for a in after) == alarms
    assert "aws_kms_key.main[0]" not in after
    assert not [a for a in after if a.startswith(("aws_appautoscaling", "aws_lambda_provisioned"))]
    assert after["aws_lambda_function.users_api"]["reserved_concurrent_executions"] == -1
