"""The bench's one table: rows of measure / result / target / status, as text and markdown.

`write_page` puts the markdown table into docs/performance.md between its bench markers, with
the one marker mechanism `make docs` uses (tools.docs.replace_between): figures are never pasted.
"""

from __future__ import annotations

import math
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

# Not tools.docs: that reads HCL (python-hcl2), and the warm bench imports this module under the
# function's own Python, which has the package's dependencies only.
PAGE = Path(__file__).resolve().parents[2] / "docs" / "performance.md"


@dataclass
class Row:
    measure: str
    result: str
    target: str = ""
    status: str = "info"  # PASS, FAIL, info, or "error" when the measure could not be taken


@dataclass
class Report:
    started: str
    machine: str
    rows: list[Row] = field(default_factory=list)
    figures: dict[str, Any] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    def add(self, measure: str, result: str, target: str = "", status: str = "info") -> None:
        self.rows.append(Row(measure, result, target, status))


def progress(message: str) -> None:
    print(f"bench: {message}", file=sys.stderr, flush=True)


def passed(ok: bool) -> str:
    return "PASS" if ok else "FAIL"


def render_text(report: Report) -> str:
    headers = ("measure", "result", "target", "status")
    cells = [headers, *((r.measure, r.result, r.target, r.status) for r in report.rows)]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
    lines = [f"make bench - {report.started}, {report.machine}"]
    for index, row in enumerate(cells):
        lines.append("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)))
        if index == 0:
            lines.append("  ".join("-" * width for width in widths))
    lines += [f"note: {note}" for note in report.notes]
    return "\n".join(line.rstrip() for line in lines)


def render_markdown(report: Report) -> str:
    lines = [
        f"`make bench` on {report.started} ({report.machine}):",
        "",
        "| Measure | Result | Target | Status |",
        "|---|---|---|---|",
    ]
    for row in report.rows:
        result = row.result.replace("|", "\\|")
        measure = f"↳ {row.measure.strip()}" if row.measure.startswith("  ") else row.measure
        lines.append(f"| {measure} | {result} | {row.target} | {row.status} |")
    if report.notes:
        lines.append("")
        lines += [f"- {note}" for note in report.notes]
    return "\n".join(lines) + "\n"


def percentile(values: list[float], fraction: float) -> float:
    """The nearest-rank percentile of values (fraction in 0..1)."""
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, math.ceil(fraction * len(ordered)) - 1))
    return ordered[index]


def write_page(report: Report, page: Path = PAGE) -> None:
    """Replace the figures between page's `<!-- BEGIN bench -->` / `<!-- END bench -->` markers."""
    from tools import docs

    page.write_text(
        docs.replace_between(page.read_text(), "bench", render_markdown(report), page.name)
    )
