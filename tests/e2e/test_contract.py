"""The document against the running API: schemathesis fuzzes `make local`'s HTTP front (the local
API Gateway in front of the deployed package, on the session's emulator stack) with the document
the function serves, and Swagger UI at /docs renders it.

Fuzzing: the repository's schemathesis.toml, which runs every operation through every phase
(examples, coverage, fuzzing, and stateful runs that follow the document's links: create ->
get/replace/patch/delete) with every check (no 5xx; every status, content type, header and body as
documented; schema-valid input accepted, invalid input rejected; a created user found, a deleted
one gone; unsupported methods answered 405 with `Allow`). The only statuses added to what a valid
request may get are the documented precondition outcomes (412, 422; 409 is in the defaults).
Read-only operations run first on their own and must leave every table as it was. Figures
(requests, test cases per phase, failures, seconds) are printed.
"""

from __future__ import annotations

import io
import json
import shutil
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.conftest import FIGURES, serve_stack
from tools.localaws.gateway import LocalGateway

REPO = Path(__file__).resolve().parents[2]
CONFIG = REPO / "schemathesis.toml"
PHASES = ("examples", "coverage", "fuzzing", "stateful")
MIN_REQUESTS = 1000

pytestmark = pytest.mark.slow


class CountingLog(io.TextIOBase):
    """The gateway's log: counts its access log lines (the stage's JSON format), one a request."""

    def __init__(self) -> None:
        self.lines = 0
        self._lock = threading.Lock()

    def write(self, text: str) -> int:
        with self._lock:
            self.lines += sum(1 for line in text.splitlines() if line.startswith("{"))
        return len(text)


@pytest.fixture(scope="module")
def access_log() -> CountingLog:
    return CountingLog()


@pytest.fixture(scope="module")
def front(front_stack: Any, access_log: CountingLog) -> Iterator[LocalGateway]:
    with serve_stack(front_stack, max_workers=2, log=access_log) as local:
        yield local


def snapshot(front_stack: Any) -> dict[str, list[Any]]:
    client = front_stack.client("dynamodb")
    prefix = f"{front_stack.variables['name']}-{front_stack.variables['environment']}-"
    tables = [t for t in client.list_tables()["TableNames"] if t.startswith(prefix)]
    return {
        table: sorted(
            (json.dumps(item, sort_keys=True) for item in _scan(client, table)),
        )
        for table in tables
    }


def _scan(client: Any, table: str) -> Iterator[Any]:
    for page in client.get_paginator("scan").paginate(TableName=table, ConsistentRead=True):
        yield from page["Items"]


@dataclass
class Run:
    """One schemathesis run: its JSON report and the test cases each phase sent."""

    report: dict[str, Any]
    cases: Counter[str]

    @property
    def failures(self) -> int:
        return sum(failure["count"] for failure in self.report["failures"])


def fuzz(url: str, reports: Path, *extra: str, max_examples: int) -> Run:
    """Run schemathesis's CLI with schemathesis.toml (its own process and hypothesis state)."""
    reports.mkdir()
    command = [
        str(Path(sys.executable).with_name("st")),
        "--config-file",
        str(CONFIG),
        "run",
        f"{url}/openapi.json",
        "--url",
        url,
        "--max-examples",
        str(max_examples),
        "--no-color",
        "--report",
        "json,ndjson",
        "--report-json-path",
        str(reports / "report.json"),
        "--report-ndjson-path",
        str(reports / "events.ndjson"),
        *extra,
    ]
    result = subprocess.run(
        command, cwd=reports, capture_output=True, text=True, timeout=300, check=False
    )
    report = json.loads((reports / "report.json").read_text())
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-2000:]
    return Run(report, _cases_per_phase(reports / "events.ndjson"))


def _cases_per_phase(events: Path) -> Counter[str]:
    """Test cases per phase, from the scenarios' recorded cases in the NDJSON event stream."""
    cases: Counter[str] = Counter()
    for line in events.read_text().splitlines():
        finished = json.loads(line).get("ScenarioFinished")
        if finished is not None:
            cases[finished["phase"]] += len(finished["recorder"].get("cases", {}))
    return cases


def test_fuzzing_finds_no_server_error_and_no_response_outside_the_document(
    front: LocalGateway, front_stack: Any, access_log: CountingLog, tmp_path: Path
) -> None:
    started = time.monotonic()
    before = snapshot(front_stack)
    reads = fuzz(front.url, tmp_path / "reads", "--include-method", "GET", max_examples=15)
    read_requests = access_log.lines
    assert snapshot(front_stack) == before, "a read-only operation changed the tables"

    everything = fuzz(front.url, tmp_path / "all", max_examples=40)
    seconds = time.monotonic() - started
    requests = access_log.lines

    operations = everything.report["operations"]
    per_phase = ", ".join(f"{everything.cases[phase]} {phase}" for phase in PHASES)
    figures = (
        f"fuzzing: {requests} requests ({read_requests} read-only, tables unchanged),"
        f" {operations['tested']}/{operations['total']} operations,"
        f" {reads.cases.total() + everything.cases.total()} test cases ({per_phase};"
        f" {reads.cases.total()} read-only), {reads.failures + everything.failures} failures,"
        f" {len(everything.report['errors'])} errors, in {seconds:.0f}s"
    )
    print(f"\n{figures}")
    FIGURES.append(figures)
    assert operations["tested"] == operations["total"] == 7
    assert reads.failures == everything.failures == 0, (
        reads.report["failures"] + everything.report["failures"]
    )
    assert everything.report["errors"] == reads.report["errors"] == []
    for phase in PHASES:  # every phase ran (the examples phase needs the document's examples)
        assert everything.report["phases"][phase]["status"] == "success", phase
        assert everything.cases[phase] > 0, phase
    assert requests >= MIN_REQUESTS


BROWSER_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def _browser() -> str:
    """Debian's Chromium (`make browser` installs it), or the Chrome a CI runner ships."""
    for name in ("chromium", "google-chrome", "chrome"):
        found = shutil.which(name)
        if found:
            return found
    raise AssertionError("no Chromium on PATH: run make browser")


def test_swagger_ui_at_docs_lists_every_operation_and_tries_them_out(
    front: LocalGateway, tmp_path: Path
) -> None:
    from playwright.sync_api import expect, sync_playwright

    from users_api.api import ROUTER

    with sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            str(tmp_path / "profile"),
            executable_path=_browser(),
            args=BROWSER_ARGS,
            headless=True,
        )
        try:
            page = context.new_page()
            page.goto(f"{front.url}/docs")
            expect(page.locator(".swagger-ui .info .title")).to_contain_text("Users API")
            for key in ROUTER.route_keys():
                method, path = key.split(" ", 1)
                block = page.locator(f".opblock-{method.lower()}").filter(
                    has=page.locator(".opblock-summary-path", has_text=path)
                )
                expect(block.first).to_be_visible()

            hello = page.locator("#operations-service-hello")
            hello.locator(".opblock-summary").click()
            hello.get_by_role("button", name="Try it out").click()
            hello.get_by_role("button", name="Execute").click()
            expect(
                hello.locator(".live-responses-table tr.response .response-col_status").first
            ).to_have_text("200")
            expect(hello.locator(".live-responses-table .microlight").first).to_contain_text(
                "Hello from Lambda"
            )

            create = page.locator("#operations-users-createUser")
            create.locator(".opblock-summary").click()
            create.get_by_role("button", name="Try it out").click()
            user_id = f"docs-{uuid.uuid4().hex[:12]}"
            email = f"{user_id}@example.com"
            body = json.dumps({"user_id": user_id, "name": "Ada", "email": email})
            create.locator("textarea.body-param__text").fill(body)
            create.get_by_role("button", name="Execute").click()
            status = create.locator(".live-responses-table tr.response .response-col_status").first
            expect(status).to_have_text("201")
            shown = create.locator(".live-responses-table .microlight").first
            expect(shown).to_contain_text(f'"user_id": "{user_id}"')
            status.scroll_into_view_if_needed()
            page.screenshot(path=str(tmp_path / "docs.png"))  # the create's answer, for a look
        finally:
            context.close()
