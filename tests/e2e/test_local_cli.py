"""tools/localaws/local.py's checks, before it starts anything: fast, no emulator."""

from __future__ import annotations

import socket
import subprocess
import sys
from pathlib import Path

from tools.localaws.emulator import free_port

REPO = Path(__file__).resolve().parents[2]


def test_local_refuses_a_taken_api_port_and_says_how_to_pick_another() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = subprocess.run(
            [
                sys.executable,
                "-m",
                "tools.localaws.local",
                "--api-port",
                str(port),
                "--emulator-port",
                str(free_port()),
            ],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
            cwd=REPO,
        )
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) <= 2, result.stderr
    assert f"port {port} on 127.0.0.1 is already in use" in lines[0]
    assert "make local API_PORT=" in lines[0]
    assert result.stdout == ""


def test_local_without_terraform_says_how_to_install_it() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "tools.localaws.local", "--api-port", str(free_port())],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        cwd=REPO,
        env={"PATH": "/nonexistent", "HOME": "/tmp", "PYTHONPATH": "lambda"},  # as make local
    )
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) <= 2, result.stderr
    assert "terraform is not on PATH" in lines[0]
    assert "install Terraform" in lines[0]
