"""End-to-end fixtures: the figures of the contract fuzzing, shown in pytest's closing summary."""

from __future__ import annotations

from typing import Any

# Lines added by tests/e2e/test_contract.py (requests, operations, failures, seconds).
FIGURES: list[str] = []


def pytest_terminal_summary(terminalreporter: Any) -> None:
    for line in FIGURES:
        terminalreporter.write_line(line)
