"""checkov (pinned, in .venv-checkov/ from requirements-checkov.txt) finds nothing to fail in the
Terraform; every skip is inline next to its resource with a reason; and the scan can fail."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tools.localaws.stage import REPO

CHECKOV = REPO / ".venv-checkov" / "bin" / "checkov"


def _scan(directory: Path, *extra: str) -> dict[str, Any]:
    if not CHECKOV.exists():
        pytest.fail(f"{CHECKOV} is missing: run `make checkov` (make test installs it)")
    result = subprocess.run(
        [
            str(CHECKOV),
            "--directory",
            str(directory),
            "--framework",
            "terraform",
            "--output",
            "json",
            "--compact",
            "--skip-download",  # no network: the built-in checks only
            *extra,
        ],
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )
    # Exit 1 means failed checks; anything else but 0 is checkov itself failing.
    assert result.returncode in (0, 1), result.stderr[-3000:]
    report = json.loads(result.stdout)
    [terraform] = report if isinstance(report, list) else [report]
    assert terraform["check_type"] == "terraform"
    return dict(terraform)


@pytest.fixture(scope="module")
def repository_scan() -> dict[str, Any]:
    # The root module only: staged copies (.local), build output and virtualenvs are not ours.
    return _scan(REPO, "--skip-path", r"\.local", "--skip-path", "build", "--skip-path", r"\.venv")


def test_checkov_reports_no_failed_check_on_the_terraform(repository_scan: dict[str, Any]) -> None:
    failed = [
        f"{check['check_id']} {check['resource']} ({check['file_path']}): {check['check_name']}"
        for check in repository_scan["results"]["failed_checks"]
    ]
    assert failed == [], "checkov failed:\n" + "\n".join(failed)
    assert repository_scan["summary"]["passed"] > 50  # it did scan the module
    scanned = {check["file_path"] for check in repository_scan["results"]["passed_checks"]}
    assert {"/main.tf", "/iam.tf", "/monitoring.tf", "/kms.tf"} <= scanned


def test_every_skip_is_inline_with_a_reason(repository_scan: dict[str, Any]) -> None:
    skipped = repository_scan["results"]["skipped_checks"]
    assert skipped, "no inline skips found: the scan did not read the #checkov:skip comments"
    without_reason = [
        f"{check['check_id']} {check['resource']}"
        for check in skipped
        if len(check.get("check_result", {}).get("suppress_comment", "").strip()) < 20
    ]
    assert without_reason == []
    for check in skipped:
        source = (REPO / check["file_path"].lstrip("/")).read_text()
        assert f"#checkov:skip={check['check_id']}:" in source, check["check_id"]


def test_checkov_does_fail_a_deliberately_bad_resource(tmp_path: Path) -> None:
    (tmp_path / "main.tf").write_text(
        'resource "aws_dynamodb_table" "bad" {\n'
        '  name         = "bad"\n'
        '  billing_mode = "PAY_PER_REQUEST"\n'
        '  hash_key     = "id"\n\n'
        "  attribute {\n"
        '    name = "id"\n'
        '    type = "S"\n'
        "  }\n"
        "}\n"
    )
    scan = _scan(tmp_path)
    failed = {check["check_id"] for check in scan["results"]["failed_checks"]}
    assert "CKV_AWS_28" in failed  # no point-in-time recovery
