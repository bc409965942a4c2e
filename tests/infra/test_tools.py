"""The emulator and staging tools' own promises: clear errors, nothing left running."""

from __future__ import annotations

import os
import re
import socket
from pathlib import Path

import pytest

from tools.localaws.emulator import Emulator, EmulatorError, free_port
from tools.localaws.stage import REPO, SERVICES, Stack, StackError, cli_config, emulator_override


def test_emulator_refuses_a_taken_port_naming_it_and_the_fix() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(EmulatorError) as error:
            Emulator(port=port).start()
    assert f"port {port} on 127.0.0.1 is already in use" in str(error.value)
    assert "EMULATOR_PORT=" in str(error.value)


def test_emulator_answers_then_stop_leaves_no_process(tmp_path: Path) -> None:
    emulator = Emulator(port=free_port(), log_path=tmp_path / "moto.log")
    with emulator:
        pid = emulator.pid
        assert pid is not None
        assert emulator.client("sts").get_caller_identity()["Account"] == "123456789012"
    with pytest.raises(ProcessLookupError):
        os.killpg(pid, 0)  # the whole process group is gone
    emulator.stop()  # idempotent


def test_stage_reports_a_failing_build_with_its_message() -> None:
    stack = Stack("http://127.0.0.1:9", name="test-bad-runtime", root=REPO)
    try:
        with pytest.raises(StackError, match="the package build failed") as error:
            stack.stage({"lambda_runtime": "python2.7"})
    finally:
        stack.remove()
    assert "unknown Lambda runtime 'python2.7'" in error.value.stderr_tail


def test_override_sends_every_service_to_the_emulator_with_test_credentials() -> None:
    override = emulator_override("http://127.0.0.1:4566")
    assert 'access_key                  = "test"' in override
    endpoints = dict(re.findall(r'^\s+(\w+)\s+= "(http://[^"]+)"$', override, flags=re.MULTILINE))
    assert endpoints == dict.fromkeys(SERVICES, "http://127.0.0.1:4566")
    assert {"apigatewayv2", "dynamodb", "iam", "kms", "lambda", "logs", "sts"} <= set(SERVICES)


def test_cli_config_takes_only_the_aws_provider_from_the_mirror() -> None:
    config = cli_config("/opt/tf-plugins")
    assert 'include = ["registry.terraform.io/hashicorp/aws"]' in config
    assert 'exclude = ["registry.terraform.io/hashicorp/aws"]' in config
    assert "provider_installation" not in cli_config(None)
