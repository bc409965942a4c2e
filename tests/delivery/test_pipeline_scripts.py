"""The pipeline's shell scripts (.github/scripts/) run with stand-ins for `terraform`, `aws` and
`gh` on the PATH: each stand-in records its arguments and answers from the test's scenario, so
what the scripts decide and send is checked without AWS or GitHub."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tools.localaws.stage import REPO

SCRIPTS = REPO / ".github" / "scripts"

# One stand-in for every command: answers[<the first arguments that match>] is printed (a list:
# one answer per call, the last repeated); "exit:N" as an answer exits N.
STAND_IN = """\
import json, os, sys
name = os.path.basename(sys.argv[0])
arguments = sys.argv[1:]
with open(os.environ["STAND_IN_LOG"], "a") as log:
    log.write(json.dumps([name, *arguments]) + "\\n")
scenario = json.load(open(os.environ["STAND_IN_SCENARIO"]))
for prefix, answers in scenario.get(name, {}).items():
    if arguments[: len(prefix.split())] == prefix.split():
        counts = scenario.setdefault("_calls", {})
        index = counts.get(name + prefix, 0)
        counts[name + prefix] = index + 1
        json.dump(scenario, open(os.environ["STAND_IN_SCENARIO"], "w"))
        answer = answers[min(index, len(answers) - 1)] if isinstance(answers, list) else answers
        if answer.startswith("exit:"):
            sys.exit(int(answer[5:]))
        print(answer)
        sys.exit(0)
sys.exit(0)
"""


class Pipeline:
    def __init__(self, tmp_path: Path) -> None:
        self.bin = tmp_path / "bin"
        self.bin.mkdir()
        self.log = tmp_path / "calls.jsonl"
        self.scenario = tmp_path / "scenario.json"
        self.summary = tmp_path / "summary.md"
        self.workdir = tmp_path / "work"
        self.workdir.mkdir()
        for name in ("terraform", "aws", "gh"):
            path = self.bin / name
            path.write_text(f"#!{sys.executable}\n{STAND_IN}")
            path.chmod(0o755)

    def run(
        self, script: str, *args: str, scenario: dict[str, Any]
    ) -> subprocess.CompletedProcess[str]:
        self.scenario.write_text(json.dumps(scenario))
        bash = shutil.which("bash")
        assert bash is not None
        return subprocess.run(
            [bash, str(SCRIPTS / script), *args],
            cwd=self.workdir,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
            env={
                "PATH": f"{self.bin}{os.pathsep}/usr/bin{os.pathsep}/bin",
                "STAND_IN_LOG": str(self.log),
                "STAND_IN_SCENARIO": str(self.scenario),
                "GITHUB_STEP_SUMMARY": str(self.summary),
                "GITHUB_REPOSITORY": "octo-org/users-api",
                "SHIFT_POLL_SECONDS": "0",
                "STACK_NAME": "users-api",
                "TF_STATE_BUCKET": "users-api-tfstate-1",
                "AWS_REGION": "eu-west-1",
                "AWS_ACCOUNT_ID": "111122223333",
            },
        )

    def calls(self, name: str) -> list[list[str]]:
        if not self.log.exists():
            return []
        lines = [json.loads(line) for line in self.log.read_text().splitlines()]
        return [line[1:] for line in lines if line[0] == name]


@pytest.fixture
def pipeline(tmp_path: Path) -> Pipeline:
    if shutil.which("jq") is None:
        pytest.fail("jq is not installed (GitHub's runners have it; Debian: apt-get install jq)")
    return Pipeline(tmp_path)


def _outputs(app: str | None, latest: str = "4") -> dict[str, Any]:
    return {
        "output -json codedeploy_app_name": json.dumps(app),
        "output -raw function_name": "users-api-prod",
        "output -raw function_live_version": latest,
        "output -raw codedeploy_deployment_group_name": "users-api-prod-live",
        "output -raw function_latest_version": latest,
    }


# --- shift-live.sh -------------------------------------------------------------------------------


def test_all_at_once_leaves_the_shift_to_terraform(pipeline: Pipeline) -> None:
    result = pipeline.run("shift-live.sh", scenario={"terraform": _outputs(None)})
    assert result.returncode == 0, result.stderr
    assert "all_at_once: live serves version 4" in result.stdout
    assert pipeline.calls("aws") == []


def test_canary_hands_the_new_version_to_codedeploy_and_waits_for_it(pipeline: Pipeline) -> None:
    result = pipeline.run(
        "shift-live.sh",
        scenario={
            "terraform": _outputs("users-api-prod"),
            "aws": {
                "lambda get-alias": "3",
                "deploy create-deployment": "d-ABCDEF123",
                "deploy get-deployment": ["InProgress", "InProgress", "Succeeded"],
            },
        },
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "live serves version 4" in result.stdout
    [create] = [c for c in pipeline.calls("aws") if c[:2] == ["deploy", "create-deployment"]]
    options = dict(zip(create[2::2], create[3::2], strict=False))
    assert options["--application-name"] == "users-api-prod"
    assert options["--deployment-group-name"] == "users-api-prod-live"
    revision = json.loads(options["--revision"])
    assert revision["revisionType"] == "AppSpecContent"
    appspec = json.loads(revision["appSpecContent"]["content"])
    assert appspec == {
        "version": 0.0,
        "Resources": [
            {
                "live": {
                    "Type": "AWS::Lambda::Function",
                    "Properties": {
                        "Name": "users-api-prod",
                        "Alias": "live",
                        "CurrentVersion": "3",
                        "TargetVersion": "4",
                    },
                }
            }
        ],
    }
    polls = [c for c in pipeline.calls("aws") if c[:2] == ["deploy", "get-deployment"]]
    assert len(polls) == 3
    assert "d-ABCDEF123" in pipeline.summary.read_text()


@pytest.mark.parametrize("status", ["Failed", "Stopped"])
def test_a_shift_codedeploy_rolled_back_fails_the_job(pipeline: Pipeline, status: str) -> None:
    result = pipeline.run(
        "shift-live.sh",
        scenario={
            "terraform": _outputs("users-api-prod"),
            "aws": {
                "lambda get-alias": "3",
                "deploy create-deployment": "d-ABCDEF123",
                "deploy get-deployment": [
                    status,
                    "ALARM_ACTIVE\tAlarm users-api-prod-lambda-errors",
                ],
            },
        },
    )
    assert result.returncode == 1
    assert f"::error::CodeDeploy d-ABCDEF123 {status}: live went back to version 3" in result.stdout
    assert "ALARM_ACTIVE" in result.stdout


def test_nothing_to_shift_when_live_already_serves_the_latest_version(pipeline: Pipeline) -> None:
    result = pipeline.run(
        "shift-live.sh",
        scenario={"terraform": _outputs("users-api-prod"), "aws": {"lambda get-alias": "4"}},
    )
    assert result.returncode == 0, result.stderr
    assert "nothing to shift" in result.stdout
    assert not [c for c in pipeline.calls("aws") if c[0] == "deploy"]


# --- preview.sh ----------------------------------------------------------------------------------


def test_preview_apply_uses_its_own_state_key_environment_and_boundary(pipeline: Pipeline) -> None:
    result = pipeline.run("preview.sh", "apply", "42", scenario={})
    assert result.returncode == 0, result.stderr
    init, apply = pipeline.calls("terraform")
    assert "-backend-config=key=users-api/pr-42/terraform.tfstate" in init
    assert "-backend-config=bucket=users-api-tfstate-1" in init
    assert apply[0] == "apply"
    assert "-var=environment=pr-42" in apply
    assert "-var-file=environments/dev.tfvars" in apply
    assert (
        "-var=lambda_permissions_boundary_arn=arn:aws:iam::111122223333:policy/"
        "users-api-github-preview-function-boundary" in apply
    )


def test_preview_refuses_anything_but_a_pull_request_number(pipeline: Pipeline) -> None:
    for args in (("apply",), ("apply", "dev"), ("destroy", "0"), ("deploy", "1")):
        result = pipeline.run("preview.sh", *args, scenario={})
        assert result.returncode == 2, args
        assert "usage:" in result.stderr
    assert pipeline.calls("terraform") == []


def test_sweep_destroys_the_stacks_of_closed_pull_requests_only(pipeline: Pipeline) -> None:
    keys = "\t".join(
        [
            "users-api/pr-7/terraform.tfstate",
            "users-api/pr-7/terraform.tfstate.tflock",
            "users-api/pr-8/terraform.tfstate",
            "users-api/pr-9/terraform.tfstate",
        ]
    )
    result = pipeline.run(
        "preview.sh",
        "sweep",
        scenario={
            "aws": {"s3api list-objects-v2": keys},
            "gh": {"pr view 7": "MERGED", "pr view 8": "OPEN", "pr view 9": "CLOSED"},
            # pr-7 still has resources; pr-9's state is empty (destroyed on close already).
            "terraform": {"state list": ["aws_lambda_function.users_api", ""]},
        },
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "pr-8: pull request open, kept" in result.stdout
    assert "pr-7: destroyed" in result.stdout
    assert "pr-9: nothing deployed" in result.stdout
    destroys = [c for c in pipeline.calls("terraform") if c[0] == "destroy"]
    assert len(destroys) == 1
    assert "-var=environment=pr-7" in destroys[0]
    inits = [c for c in pipeline.calls("terraform") if c[0] == "init"]
    assert [next(a for a in c if a.startswith("-backend-config=key=")) for c in inits] == [
        "-backend-config=key=users-api/pr-7/terraform.tfstate",
        "-backend-config=key=users-api/pr-9/terraform.tfstate",
    ]
