"""The operations switches that no applied configuration turns on, checked in the plan (SnapStart
excludes prod's provisioned concurrency), and the new variables' validation rules."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from tests.conftest import EmulatorStack

pytestmark = pytest.mark.slow


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
    assert function["after"]["snap_start"] == [{"apply_on": "PublishedVersions"}]
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


def test_bad_operations_values_are_rejected_each_with_its_rule(
    emulator_stack: EmulatorStack,
) -> None:
    bad = {
        "alarm_email": "not-an-address",
        "alarm_topic_arn": "arn:aws:sqs:us-east-1:123456789012:queue",
        "alarm_thresholds": "{api_5xx_rate_percent = 120}",
        "billing_mode": "ON_DEMAND",
        "provisioned_capacity": "{read_min = 30, read_max = 20}",
        "lambda_reserved_concurrency": "0",
        "lambda_provisioned_concurrency": "-1",
        "lambda_live_version": "$LATEST",
        "custom_domain_name": "API.Example.com/",
        "custom_domain_certificate_arn": "arn:aws:iam::123456789012:server-certificate/x",
        "route53_zone_id": "/hostedzone/Z123",
        "kms_key_deletion_window_days": "3",
    }
    result = emulator_stack.stack.terraform(
        "plan",
        "-input=false",
        "-refresh=false",
        *(f"-var={name}={value}" for name, value in bad.items()),
        step="plan",
        ok_codes=(1,),
    )
    message = " ".join(result.stderr.split())
    rejected = {name for name in bad if f"│ {name} must" in message or f" {name} must " in message}
    assert rejected == set(bad), f"accepted: {set(bad) - rejected}"
