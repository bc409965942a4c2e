"""End-to-end helpers: the local front for a deployed stack, and the contract fuzzing's figures
(shown in pytest's closing summary)."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from tools.localaws.emulator import free_port
from tools.localaws.gateway import LocalGateway, start_gateway

REPO = Path(__file__).resolve().parents[2]


@contextlib.contextmanager
def serve_stack(deployed: Any, **options: Any) -> Iterator[LocalGateway]:
    """The local front (tools/localaws/gateway.py) for `deployed`'s own API on a free port, as
    `make local`
    serves it; `options` go to start_gateway (max_workers, log, ...)."""
    local = start_gateway(
        endpoint_url=deployed.endpoint,
        package_zip=deployed.stack.zip_path,
        api_id=deployed.outputs["api_id"],  # other stacks may share the emulator
        cache_dir=REPO / ".local" / "runtime",
        port=free_port(),
        **options,
    )
    try:
        yield local
    finally:
        local.close()


# Lines added by tests/e2e/test_contract.py (requests, operations, failures, seconds).
FIGURES: list[str] = []


def pytest_terminal_summary(terminalreporter: Any) -> None:
    for line in FIGURES:
        terminalreporter.write_line(line)
