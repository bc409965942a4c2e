"""The README's Inputs and Outputs tables, generated from the root module's variables and outputs.

    python -m tools.docs            # rewrite the tables in README.md (make docs)
    python -m tools.docs --check    # exit 1 if README.md is out of date (the tests run this)

Reads every root `*.tf` with the one HCL reader (tools/hcl.py, python-hcl2) for `variable` and
`output` blocks and takes their top-level `type`, `description`, `default` and `sensitive` as
HCL text. The tables live between the markers
`<!-- BEGIN inputs -->` / `<!-- END inputs -->` and the same pair for `outputs`.
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


def render(readme: str, found: list[Block]) -> str:
    for marker, table in (("inputs", inputs_table(found)), ("outputs", outputs_table(found))):
        begin, end = f"<!-- BEGIN {marker} -->", f"<!-- END {marker} -->"
        if begin not in readme or end not in readme:
            raise SystemExit(f"README.md has no {begin} ... {end} markers")
        head, rest = readme.split(begin, 1)
        _, tail = rest.split(end, 1)
        readme = f"{head}{begin}\n{table}\n{end}{tail}"
    return readme


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Generate the README's Inputs/Outputs tables.")
    parser.add_argument("--check", action="store_true", help="fail if README.md is out of date")
    args = parser.parse_args(argv)
    current = README.read_text()
    fresh = render(current, blocks())
    if args.check:
        if fresh != current:
            print(
                "README.md's Inputs/Outputs tables are out of date: run make docs", file=sys.stderr
            )
            return 1
        return 0
    README.write_text(fresh)
    return 0


if __name__ == "__main__":
    sys.exit(main())
