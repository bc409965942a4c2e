"""The OpenAPI document passes the linters people point at a contract: Redocly CLI's recommended
ruleset (redocly.yaml) and Spectral's OpenAPI rules (.spectral.yaml), with 0 errors and 0
warnings, for the committed openapi.json (authorization NONE) and for the documents a JWT or an
AWS_IAM stack serves (rendered by tools.openapi). Both run from tools/node (`make test` installs
them with npm ci); a rule turned off is turned off in those files, with the reason.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tools.openapi import COMMITTED, render

REPO = Path(__file__).resolve().parents[2]
BIN = REPO / "tools" / "node" / "node_modules" / ".bin"
MODES = ("NONE", "JWT", "AWS_IAM")


def _tool(name: str) -> str:
    if shutil.which("node") is None:
        pytest.fail("node is not installed: install Node.js 20+ (make test needs it)")
    path = BIN / name
    if not path.is_file():
        pytest.fail(f"{name} is not installed: run make test (npm ci in tools/node)")
    return str(path)


@pytest.fixture(scope="module", params=MODES)
def document(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The committed openapi.json for NONE; the document of the JWT or AWS_IAM mode otherwise."""
    mode: str = request.param
    if mode == "NONE":
        return COMMITTED
    path = tmp_path_factory.mktemp("documents") / f"openapi-{mode.lower()}.json"
    path.write_text(render(mode))
    return path


def _run(*command: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        command, cwd=REPO, capture_output=True, text=True, timeout=120, check=False
    )


def redocly(document: Path) -> dict[str, Any]:
    """`redocly lint` with redocly.yaml: its JSON report (totals and problems)."""
    result = _run(
        _tool("redocly"),
        "lint",
        str(document),
        "--config",
        str(REPO / "redocly.yaml"),
        "--format",
        "json",
    )
    report: dict[str, Any] = json.loads(result.stdout)
    return report


def spectral(document: Path) -> list[dict[str, Any]]:
    """`spectral lint` with .spectral.yaml: its findings (every severity)."""
    result = _run(
        _tool("spectral"),
        "lint",
        str(document),
        "--ruleset",
        str(REPO / ".spectral.yaml"),
        "--format",
        "json",
        "--quiet",
    )
    assert result.returncode in (0, 1), result.stderr[-2000:]
    findings: list[dict[str, Any]] = json.loads(result.stdout or "[]")
    return findings


def test_redocly_recommended_finds_no_error_and_no_warning(document: Path) -> None:
    report = redocly(document)
    problems = [f"{p['severity']} {p['ruleId']}: {p['message']}" for p in report["problems"]]
    assert report["totals"] == {"errors": 0, "warnings": 0, "ignored": 0}, problems


def test_spectral_oas_finds_nothing(document: Path) -> None:
    findings = spectral(document)
    assert [f"{f['code']} at {'.'.join(map(str, f['path']))}" for f in findings] == []


def test_the_linters_report_a_document_that_breaks_their_rules(tmp_path: Path) -> None:
    """The two runs above would see a finding: an operation without security, a description or
    a response, in a document without contact or license, is reported by both."""
    broken = json.loads(COMMITTED.read_text())
    broken.pop("security", None)
    broken["info"].pop("contact", None)
    broken["info"].pop("license", None)
    hello = broken["paths"]["/hello"]["get"]
    hello.pop("security", None)
    hello.pop("description", None)
    path = tmp_path / "broken.json"
    path.write_text(json.dumps(broken))

    rules = {p["ruleId"] for p in redocly(path)["problems"]}
    assert {"security-defined", "info-license"} <= rules
    codes = {f["code"] for f in spectral(path)}
    assert {"info-contact", "operation-description"} <= codes
