"""The one HCL reader of the tools and tests: python-hcl2 parses, this module reads its answer.

    from tools import hcl

    hcl.blocks(Path("variables.tf"), "variable")["name"]["default"]   # '"users-api"' (as parsed)
    hcl.expression('${map(string)}')                                   # 'map(string)'
    hcl.value('"users-api"')                                           # 'users-api'
    hcl.tfvars(Path("environments/prod.tfvars"))["billing_mode"]      # 'PROVISIONED'

python-hcl2 (PyPI, pinned) parses every .tf and .tfvars file of this repository. It hands back a
string literal as written (`'"users-api"'`), an expression wrapped in `${...}`, a block as a dict
marked `__is_block__`, labels in quotes. `expression()` gives an attribute back as HCL text (what
the README's tables show), `value()` as a Python value where it is a literal. Used by tools/docs.py
(the Inputs/Outputs tables), tools/localaws/stage.py (a .tfvars file's values, variables' defaults)
and
tests/infra/test_static.py (package.tf's external program and query).
"""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path
from typing import Any

import hcl2

_BLOCK_MARK = "__is_block__"
_COMMENTS = "__comments__"


def load(path: Path) -> dict[str, Any]:
    """The parsed file (cached until it changes)."""
    return _load(path.resolve(), path.stat().st_mtime_ns)


@lru_cache(maxsize=64)
def _load(path: Path, mtime_ns: int) -> dict[str, Any]:
    with path.open(encoding="utf-8") as file:
        parsed: dict[str, Any] = hcl2.load(file)
    return parsed


def _label(text: str) -> str:
    return text[1:-1] if len(text) >= 2 and text[0] == text[-1] == '"' else text


def is_block(raw: Any) -> bool:
    """A nested block (validation, lifecycle...), not an attribute."""
    if isinstance(raw, list):
        return bool(raw) and all(isinstance(item, dict) and item.get(_BLOCK_MARK) for item in raw)
    return isinstance(raw, dict) and bool(raw.get(_BLOCK_MARK))


def blocks(path: Path, kind: str) -> dict[str, dict[str, Any]]:
    """The file's `kind` blocks (`variable`, `output`, `data`...) by label, their contents raw.

    Two labels (`data "external" "lambda_package"`) are joined with a dot.
    """
    found: dict[str, dict[str, Any]] = {}
    for item in load(path).get(kind, []):
        for label, body in item.items():
            if isinstance(body, dict) and not body.get(_BLOCK_MARK):
                for inner, contents in body.items():
                    found[f"{_label(label)}.{_label(inner)}"] = _attributes(contents)
            else:
                found[_label(label)] = _attributes(body)
    return found


def _attributes(body: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in body.items() if k not in (_BLOCK_MARK, _COMMENTS)}


def expression(raw: Any) -> str:
    """An attribute as HCL text: `"a"`, `map(string)`, `["*"]`, `{}`, `true`, `30`, `null`."""
    if raw is None:
        return "null"
    if isinstance(raw, bool):
        return "true" if raw else "false"
    if isinstance(raw, int | float):
        return json.dumps(raw)
    if isinstance(raw, str):
        return raw[2:-1] if raw.startswith("${") and raw.endswith("}") else raw
    if isinstance(raw, list):
        return "[" + ", ".join(expression(item) for item in raw) + "]"
    items = _attributes(raw)
    return "{" + ", ".join(f"{_label(k)} = {expression(v)}" for k, v in items.items()) + "}"


def value(raw: Any) -> Any:
    """A literal as a Python value (strings unquoted, lists and maps recursed); an expression
    (`${var.x}`) as its HCL text."""
    if isinstance(raw, str):
        if raw.startswith('"') and raw.endswith('"') and len(raw) >= 2:
            return json.loads(raw)
        return expression(raw)
    if isinstance(raw, list):
        return [value(item) for item in raw]
    if isinstance(raw, dict):
        return {_label(k): value(v) for k, v in _attributes(raw).items()}
    return raw


def tfvars(path: Path) -> dict[str, Any]:
    """A .tfvars file's assignments as Python values."""
    return {name: value(raw) for name, raw in _attributes(load(path)).items()}
