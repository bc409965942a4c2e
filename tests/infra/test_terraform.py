"""Terraform itself against the emulator: offline validate, the package precondition, the
conditional X-Ray grant, and a quiet re-plan (except the emulator gaps listed below)."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import pytest

from tools.localaws.stage import RUNTIMES_JSON, Stack

if TYPE_CHECKING:
    from tests.conftest import EmulatorStack
    from tools.localaws.stage import Plan

pytestmark = pytest.mark.slow

FUNCTION = "aws_lambda_function.users_api"

# Attributes the emulator does not store, so every plan against it wants to set them again.
# Each is checked instead in the plan's JSON to hold the configured value (expected_gap_values).
# None today: moto 5.2.5 drops a function's LoggingConfig, which tools/localaws/emulator_shims.py
# (lambda_function_settings) now stores, since with `publish = true` the gap would publish a
# version and move the alias on every plan.
EMULATOR_GAPS: dict[tuple[str, str], str] = {}


def expected_gap_values(deployed: EmulatorStack) -> dict[tuple[str, str], Any]:
    return {}


def test_offline_init_and_validate_in_the_staged_copy(emulator_stack: EmulatorStack) -> None:
    stack = emulator_stack.stack
    stack.validate()  # init already ran offline in the staged directory, from the mirror
    assert (stack.workdir / ".terraform").is_dir()
    assert not (stack.root / ".terraform").exists()
    assert not (stack.root / "terraform.tfstate").exists()


def unexpected_changes(plan: Plan) -> list[tuple[str, tuple[str, ...], str]]:
    """Changes a plan wants beyond EMULATOR_GAPS (the package's included)."""
    return [
        (change.address, change.actions, attribute)
        for change in plan.changes
        for attribute in change.attributes
        if (change.address, attribute) not in EMULATOR_GAPS or change.actions != ("update",)
    ]


def test_re_plan_after_building_the_unchanged_package_again_shows_only_emulator_gaps(
    emulator_stack: EmulatorStack,
) -> None:
    stack = emulator_stack.stack
    deployed_zip = stack.zip_path.read_bytes()
    stack.stage()  # the build again, as every plan runs it, and the zip again
    assert stack.zip_path.read_bytes() == deployed_zip, "the package is not deterministic"
    plan = stack.plan()

    assert not unexpected_changes(plan), "the re-plan wants changes beyond the emulator gaps"
    assert plan.exit_code == (2 if plan.changes else 0)
    for (address, attribute), expected in expected_gap_values(emulator_stack).items():
        planned = plan.resource_change(address)["change"]["after"][attribute]
        assert planned == expected, f"{address}.{attribute} is planned as {planned}"


def test_emulator_shim_keeps_the_functions_logging_config(emulator_stack: EmulatorStack) -> None:
    """What makes the re-plan quiet: the shim stores what moto alone drops."""
    function = emulator_stack.client("lambda").get_function(
        FunctionName=emulator_stack.outputs["function_name"]
    )["Configuration"]
    assert function["LoggingConfig"] == {
        "LogFormat": "JSON",
        "LogGroup": emulator_stack.outputs["function_log_group_name"],
        "ApplicationLogLevel": "INFO",
        "SystemLogLevel": "WARN",
    }


def test_package_built_for_another_architecture_is_refused(
    emulator_stack: EmulatorStack,
) -> None:
    result = emulator_stack.stack.terraform(
        "plan",
        "-input=false",
        "-refresh=false",
        "-var=lambda_architecture=arm64",
        step="plan",
        ok_codes=(1,),
    )
    message = " ".join(result.stderr.split())
    assert "The package was built for python3.13/x86_64 (bytecode false)" in message
    assert "but the function is python3.13/arm64 (bytecode false)" in message


def test_x_ray_is_granted_only_with_tracing_and_is_the_only_wildcard(
    emulator_stack: EmulatorStack,
) -> None:
    stack = emulator_stack.stack
    stack.terraform(
        "plan",
        "-input=false",
        "-refresh=false",
        "-var=tracing_enabled=true",
        "-out=tracing.tfplan",
        step="plan",
    )
    shown = json.loads(stack.terraform("show", "-json", "tracing.tfplan", step="show").stdout)
    changes = {change["address"]: change["change"] for change in shown["resource_changes"]}

    policy = json.loads(changes["aws_iam_role_policy.function"]["after"]["policy"])
    wildcard = [s for s in policy["Statement"] if s["Resource"] == "*"]
    assert [(s["Sid"], sorted(s["Action"])) for s in wildcard] == [
        ("SendTraces", ["xray:PutTelemetryRecords", "xray:PutTraceSegments"])
    ]
    assert changes[FUNCTION]["after"]["tracing_config"] == [{"mode": "Active"}]


def test_bad_variable_values_are_rejected_each_with_its_rule(
    emulator_stack: EmulatorStack,
) -> None:
    bad = {
        "name": "Users_API",
        "environment": "qa",
        "lambda_runtime": "python3.10",  # lambda/runtimes.json: the code needs 3.11+
        "lambda_architecture": "arm",
        "lambda_memory_mb": "64",
        "lambda_timeout_seconds": "30",
        "log_level": "TRACE",
        "log_retention_days": "8",
        "cors_allowed_origins": '["app.example.com/"]',
        "throttling_burst_limit": "0",
        "throttling_rate_limit": "-1",
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
    # Terraform reports every failed validation at once; each names its variable first.
    rejected = {name for name in bad if f"│ {name} must" in message or f" {name} must " in message}
    assert rejected == set(bad), f"accepted: {set(bad) - rejected}"


# --- Runtime dates (lambda/runtimes.json) ------------------------------------------------------
# The staged copy's runtimes.json gets dates relative to today, so these hold whatever the date.


def _day(offset: int) -> str:
    return (datetime.now(UTC) + timedelta(days=offset)).date().isoformat()


@contextlib.contextmanager
def runtime_dates(stack: Stack, runtime: str, deprecation: str, block: str) -> Iterator[None]:
    path = stack.workdir / RUNTIMES_JSON
    original = path.read_text()
    runtimes = json.loads(original)
    runtimes[runtime] = {"deprecation": deprecation, "block_function_update": block}
    path.write_text(json.dumps(runtimes))
    try:
        yield
    finally:
        path.write_text(original)


def _runtime_check(stack: Stack) -> tuple[str, list[str]]:
    """Plan (no refresh); the lambda_runtime_support check's status and problems."""
    stack.terraform(
        "plan",
        "-input=false",
        "-refresh=false",
        "-out=runtime.tfplan",
        step="plan",
        ok_codes=(0, 2),
    )
    shown = json.loads(stack.terraform("show", "-json", "runtime.tfplan", step="show").stdout)
    [check] = [
        c for c in shown["checks"] if c["address"]["to_display"] == "check.lambda_runtime_support"
    ]
    problems = [p["message"] for i in check.get("instances", []) for p in i.get("problems", [])]
    return check["status"], problems


def test_runtime_past_its_block_date_is_refused_by_the_plan(
    emulator_stack: EmulatorStack,
) -> None:
    stack = emulator_stack.stack
    with runtime_dates(stack, "python3.13", deprecation=_day(-90), block=_day(-1)):
        result = stack.terraform(
            "plan", "-input=false", "-refresh=false", step="plan", ok_codes=(1,)
        )
    message = " ".join(result.stderr.replace("│", " ").split())
    assert (
        f"lambda_runtime python3.13 is past its block-function-update date ({_day(-1)}, "
        "lambda/runtimes.json): Lambda no longer updates functions on it." in message
    )


def test_runtime_near_its_deprecation_date_warns_and_plans(emulator_stack: EmulatorStack) -> None:
    stack = emulator_stack.stack
    assert _runtime_check(stack) == ("pass", [])  # AWS's dates for python3.13 are years away

    with runtime_dates(stack, "python3.13", deprecation=_day(30), block=_day(90)):
        status, problems = _runtime_check(stack)

    assert status == "fail"  # a check block's failure is a warning: the plan was written
    assert problems == [
        f"lambda_runtime python3.13 is deprecated by AWS on {_day(30)} (no security patches "
        f"after it), and from {_day(90)} Lambda refuses to update functions on it: move to a "
        "newer runtime of lambda/runtimes.json."
    ]


# --- The tables' indexes (main.tf's table_indexes check) ---------------------------------------


def _checks(plan_json: dict[str, Any]) -> dict[str, str]:
    return {
        c["address"]["to_display"]: c["status"]
        for c in plan_json.get("checks", [])
        if c["address"]["kind"] == "check"
    }


def test_index_changed_in_the_map_is_not_applied_but_warned_about(
    emulator_stack: EmulatorStack,
) -> None:
    """The price of leaving index capacity to auto scaling: Terraform does not change an existing
    table's indexes; the check says so instead of planning nothing in silence."""
    stack = emulator_stack.stack
    main = stack.workdir / "main.tf"
    original = main.read_text()
    assert original.count('projection_type = "KEYS_ONLY"') == 1
    main.write_text(original.replace('projection_type = "KEYS_ONLY"', 'projection_type = "ALL"'))
    try:
        stack.terraform("plan", "-input=false", "-refresh=false", "-out=index.tfplan", step="plan")
        shown = json.loads(stack.terraform("show", "-json", "index.tfplan", step="show").stdout)
    finally:
        main.write_text(original)

    tables = [c for c in shown["resource_changes"] if c["type"] == "aws_dynamodb_table"]
    assert {c["change"]["actions"][0] for c in tables} == {"no-op"}
    assert _checks(shown)["check.table_indexes"] == "fail"
    [check] = [c for c in shown["checks"] if c["address"]["to_display"] == "check.table_indexes"]
    [problem] = [p["message"] for i in check["instances"] for p in i.get("problems", [])]
    assert problem.startswith("The indexes in local.tables differ from the tables' own")
