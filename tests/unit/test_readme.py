"""The README and docs/: a short front door, links that resolve, generated parts that agree with
the code they describe (make docs, make bench)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from tools import docs
from tools.bench import report

PAGES = [docs.README, *sorted(docs.DOCS.glob("*.md"))]
_FENCE = re.compile(r"^```.*?^```", re.MULTILINE | re.DOTALL)
_CODE = re.compile(r"`[^`\n]*`")
_LINK = re.compile(r"\]\(([^)\s]+)\)")
_HEADING = re.compile(r"^#{1,6} (.+?)#*$", re.MULTILINE)


def _prose(text: str) -> str:
    """text without fenced code blocks and inline code (links are not read from code)."""
    return _CODE.sub("", _FENCE.sub("", text))


def anchors(text: str) -> set[str]:
    """The anchors GitHub gives a page's headings: lower case, punctuation dropped, spaces to
    hyphens, a repeated heading numbered -1, -2..."""
    seen: dict[str, int] = {}
    found: set[str] = set()
    for heading in _HEADING.findall(_FENCE.sub("", text)):
        slug = re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")
        count = seen.get(slug, 0)
        seen[slug] = count + 1
        found.add(slug if count == 0 else f"{slug}-{count}")
    return found


def relative_links(page: Path) -> list[str]:
    return [
        target
        for target in _LINK.findall(_prose(page.read_text()))
        if not re.match(r"[a-z][a-z0-9+.-]*:", target)  # https:, http:, mailto:
    ]


def test_readme_is_a_front_door_of_at_most_300_lines() -> None:
    lines = docs.README.read_text().splitlines()

    assert len(lines) <= 300, f"README.md has {len(lines)} lines: move the detail to docs/"


def test_the_readme_links_every_page_of_docs() -> None:
    linked = {Path(target.split("#")[0]).name for target in relative_links(docs.README)}
    pages = {page.name for page in docs.DOCS.glob("*.md")}

    assert {"api.md", "configuration.md", "performance.md", "extending.md"} <= pages
    assert pages <= linked, f"not linked from README.md: {sorted(pages - linked)}"


@pytest.mark.parametrize("page", PAGES, ids=lambda page: page.name)
def test_every_relative_link_points_to_an_existing_file_and_anchor(page: Path) -> None:
    for target in relative_links(page):
        path, _, anchor = target.partition("#")
        linked = (page.parent / path).resolve() if path else page
        assert linked.exists(), f"{page.name}: {target} points to no file"
        if anchor:
            assert linked.suffix == ".md", f"{page.name}: {target}: an anchor in a non-page"
            assert anchor in anchors(linked.read_text()), f"{page.name}: {target}: no such heading"


def test_anchors_are_computed_as_github_does() -> None:
    text = "# Bytecode: `lambda_bytecode`\n## What one `terraform apply` creates\n## A\n## A\n"

    assert anchors(text) == {
        "bytecode-lambda_bytecode",
        "what-one-terraform-apply-creates",
        "a",
        "a-1",
    }


def test_inputs_and_outputs_tables_are_generated_from_the_module() -> None:
    found = docs.blocks()
    page = docs.CONFIGURATION.read_text()

    assert docs.render(page, found) == page, "run make docs"
    assert docs.main(["--check"]) == 0
    variables = {block.name for block in found if block.kind == "variable"}
    assert {"authorization", "billing_mode", "lambda_bytecode", "alarms_enabled"} <= variables
    for block in found:
        assert block.attributes.get("description"), f"{block.kind} {block.name} has no description"
        if block.kind == "variable":
            assert block.attributes.get("type"), f"variable {block.name} has no type"
            assert f"| `{block.name}` |" in page, block.name
    assert "<!-- BEGIN inputs -->" not in docs.README.read_text()  # one home for the tables


def test_check_fails_when_a_table_is_stale(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    stale = tmp_path / "configuration.md"
    page = docs.CONFIGURATION.read_text()
    stale.write_text(page.replace("| `authorization` |", "| `authorisation` |"))
    monkeypatch.setattr(docs, "CONFIGURATION", stale)

    assert docs.main(["--check"]) == 1
    assert docs.main([]) == 0
    assert stale.read_text() == page
    assert docs.main(["--check"]) == 0


def test_replace_between_needs_one_marker_pair_and_keeps_the_rest() -> None:
    page = "head\n<!-- BEGIN x -->\nold\n<!-- END x -->\ntail\n"

    fresh = docs.replace_between(page, "x", "new\n", "page.md")

    assert fresh == "head\n<!-- BEGIN x -->\nnew\n<!-- END x -->\ntail\n"
    assert docs.replace_between(fresh, "x", "new", "page.md") == fresh
    for broken in ("no markers\n", page + page, "<!-- END x -->\n<!-- BEGIN x -->\n"):
        with pytest.raises(SystemExit, match=r"page\.md needs exactly one"):
            docs.replace_between(broken, "x", "new", "page.md")


def test_the_bench_writes_its_table_into_the_performance_page(tmp_path: Path) -> None:
    committed = report.PAGE.read_text()
    page = tmp_path / "performance.md"
    page.write_text(committed)
    table = report.Report("2026-12-05 10:00 UTC", "2 CPUs x86_64")
    table.add("package size zipped", "2.60 MB", "<= 3 MB", "PASS")
    table.notes.append("load average 1.0")

    report.write_page(table, page)

    written = page.read_text()
    begin, end = "<!-- BEGIN bench -->\n", "\n<!-- END bench -->"
    assert written.split(begin)[0] == committed.split(begin)[0]
    assert written.split(end)[1] == committed.split(end)[1]
    between = written.split(begin)[1].split(end)[0]
    assert between == report.render_markdown(table).strip("\n")
    assert "| package size zipped | 2.60 MB | <= 3 MB | PASS |" in between
    assert report.PAGE == docs.DOCS / "performance.md"


def test_every_make_target_the_docs_name_exists() -> None:
    makefile = (docs.REPO / "Makefile").read_text()
    targets = set(re.findall(r"^([a-z][a-zA-Z_-]*):", makefile, re.MULTILINE))
    readme = docs.README.read_text()

    for target in ("local", "test", "token", "bench", "openapi", "docs", "checkov", "build"):
        assert f"make {target}" in readme, target
    for page in PAGES:
        # `make x` in inline code, or a code block's line starting with make x
        for target in re.findall(r"(?:`|^)make ([a-z][a-z-]*)\b", page.read_text(), re.M):
            assert target in targets, f"{page.name} names make {target}, which does not exist"


def test_the_runtimes_table_lists_the_supported_runtimes() -> None:
    runtimes = json.loads((docs.REPO / "lambda" / "runtimes.json").read_text())
    delivery = (docs.DOCS / "delivery.md").read_text()

    listed = re.findall(r"^\| `(python3\.\d+)`", delivery, re.MULTILINE)

    assert listed == list(runtimes)


def test_the_readmes_first_inputs_show_the_modules_defaults() -> None:
    defaults = {
        block.name: block.attributes.get("default")
        for block in docs.blocks()
        if block.kind == "variable"
    }
    section = docs.README.read_text().split("## Configuration", 1)[1].split("\n## ", 1)[0]
    rows = re.findall(r"^\| (`[a-z_]+`(?:, `[a-z_]+`)*) \| ([^|]+) \|", section, re.MULTILINE)

    assert len(rows) >= 5
    for names, shown in rows:
        names_listed = re.findall(r"`([a-z_]+)`", names)
        shown_defaults = re.findall(r"`([^`]+)`", shown)
        assert shown_defaults == [defaults[name] for name in names_listed], names
