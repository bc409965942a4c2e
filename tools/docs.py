"""The generated parts of the documentation: docs/configuration.md's Inputs and Outputs tables.

    python -m tools.docs            # rewrite the tables in docs/configuration.md (make docs)
    python -m tools.docs --check    # exit 1 if docs/configuration.md is stale (the tests run it)

Reads every root `*.tf` with the one HCL reader (tools/hcl.py, python-hcl2) for `variable` and
`output` blocks and takes their top-level `type`, `description`, `default` and `sensitive` as
HCL text. The tables live between the markers
`<!-- BEGIN inputs -->` / `<!-- END inputs -->` and the same pair for `outputs`.

`replace_between` is the one way a generated part enters a page: `make bench` (tools/bench)
writes docs/performance.md's figures between `<!-- BEGIN bench -->` / `<!-- END bench -->` with it.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import dataclass
from pathlib import Path

from tools import hcl

REPO = Path(__file__).resolve().parent.parent
README = REPO / "README.md"
DOCS = REPO / "docs"
CONFIGURATION = DOCS / "configuration.md"


@dataclass(frozen=True)
class Block:
    kind: str
    name: str
    attributes: dict[str, str]  # top-level attribute -> its HCL expression (tools.hcl)


def blocks(root: Path = REPO) -> list[Block]:
    found: list[Block] = []
    for path in sorted(root.glob("*.tf")):
        for kind in ("variable", "output"):
            for name, contents in hcl.blocks(path, kind).items():
                attributes = {
                    key: hcl.expression(raw)
                    for key, raw in contents.items()
                    if not hcl.is_block(raw)  # nested blocks such as validation
                }
                found.append(Block(kind, name, attributes))
    return found


def _text(expression: str) -> str:
    """A description as plain text (HCL strings are JSON-compatible)."""
    try:
        value = json.loads(expression)
    except ValueError:
        return expression
    return str(value)


def _cell(text: str) -> str:
    return " ".join(text.split()).replace("|", "\\|")


def inputs_table(found: list[Block]) -> str:
    rows = ["| Name | Description | Type | Default |", "|------|-------------|------|---------|"]
    for block in found:
        if block.kind != "variable":
            continue
        attributes = block.attributes
        default = attributes.get("default")
        shown = f"`{_cell(default)}`" if default is not None else "required"
        description = _text(attributes.get("description", ""))
        if attributes.get("sensitive") == "true":
            description += " (sensitive)"
        rows.append(
            f"| `{block.name}` | {_cell(description)} | `{_cell(attributes.get('type', 'any'))}` "
            f"| {shown} |"
        )
    return "\n".join(rows)


def outputs_table(found: list[Block]) -> str:
    rows = ["| Name | Description |", "|------|-------------|"]
    for block in found:
        if block.kind == "output":
            rows.append(
                f"| `{block.name}` | {_cell(_text(block.attributes.get('description', '')))} |"
            )
    return "\n".join(rows)


def replace_between(page: str, marker: str, content: str, name: str) -> str:
    """page with what lies between `<!-- BEGIN marker -->` and `<!-- END marker -->` replaced.

    name is the page's name for the error when a marker is missing (or doubled)."""
    begin, end = f"<!-- BEGIN {marker} -->", f"<!-- END {marker} -->"
    if page.count(begin) != 1 or page.count(end) != 1 or page.index(begin) > page.index(end):
        raise SystemExit(f"{name} needs exactly one {begin} ... {end} pair")
    head, rest = page.split(begin, 1)
    _, tail = rest.split(end, 1)
    return f"{head}{begin}\n{content.strip(chr(10))}\n{end}{tail}"


def render(page: str, found: list[Block]) -> str:
    """docs/configuration.md's text with fresh Inputs and Outputs tables."""
    for marker, table in (("inputs", inputs_table(found)), ("outputs", outputs_table(found))):
        page = replace_between(page, marker, table, "docs/configuration.md")
    return page


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description="Generate docs/configuration.md's Inputs/Outputs tables."
    )
    parser.add_argument(
        "--check", action="store_true", help="fail if docs/configuration.md is out of date"
    )
    args = parser.parse_args(argv)
    current = CONFIGURATION.read_text()
    fresh = render(current, blocks())
    if args.check:
        if fresh != current:
            print(
                "docs/configuration.md's Inputs/Outputs tables are out of date: run make docs",
                file=sys.stderr,
            )
            return 1
        return 0
    if fresh != current:
        CONFIGURATION.write_text(fresh)
    return 0


if __name__ == "__main__":
    sys.exit(main())
