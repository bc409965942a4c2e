"""The generated parts of the documentation: docs/configuration.md's Inputs and Outputs tables.

    python -m tools.docs            # rewrite the tables in docs/configuration.md (make docs)
    python -m tools.docs --check    # exit 1 if docs/configuration.md is stale (the tests run it)

Reads every root `*.tf` (they are `terraform fmt`-formatted: blocks start at column 0) for
`variable "x" {...}` and `output "x" {...}` blocks and takes their top-level `type`,
`description`, `default` and `sensitive` as written. The tables live between the markers
`<!-- BEGIN inputs -->` / `<!-- END inputs -->` and the same pair for `outputs`.

`replace_between` is the one way a generated part enters a page: `make bench` (tools/bench)
writes docs/performance.md's figures between `<!-- BEGIN bench -->` / `<!-- END bench -->` with it.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
README = REPO / "README.md"
DOCS = REPO / "docs"
CONFIGURATION = DOCS / "configuration.md"
_BLOCK = re.compile(r'^(variable|output) "([^"]+)" \{\n(.*?)^\}', re.MULTILINE | re.DOTALL)


@dataclass(frozen=True)
class Block:
    kind: str
    name: str
    attributes: dict[str, str]  # top-level attribute -> its HCL expression, as written


def _top_level_attributes(body: str) -> dict[str, str]:
    """Attributes at depth 0 of a block body (nested blocks such as validation are skipped)."""
    attributes: dict[str, str] = {}
    lines = body.splitlines()
    index = 0
    while index < len(lines):
        line = lines[index]
        match = re.match(r"^  ([a-z_]+)\s*=\s*(.*)$", line)
        if match:
            name, value = match.groups()
            depth = _depth(value)
            while depth > 0 and index + 1 < len(lines):
                index += 1
                value += "\n" + lines[index]
                depth += _depth(lines[index])
            attributes[name] = value.strip()
        elif re.match(r"^  [a-z_]+ \{$", line):  # a nested block: skip to its end
            depth = 1
            while depth > 0 and index + 1 < len(lines):
                index += 1
                depth += _depth(lines[index])
        index += 1
    return attributes


def _depth(text: str) -> int:
    without_strings = re.sub(r'"(?:[^"\\]|\\.)*"', '""', text)
    return sum(without_strings.count(c) for c in "{[(") - sum(
        without_strings.count(c) for c in "}])"
    )


def blocks(root: Path = REPO) -> list[Block]:
    found: list[Block] = []
    for path in sorted(root.glob("*.tf")):
        for kind, name, body in _BLOCK.findall(path.read_text()):
            found.append(Block(kind, name, _top_level_attributes(body)))
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
