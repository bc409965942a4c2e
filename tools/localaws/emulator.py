"""moto's server on loopback, as the AWS emulator for the Terraform tests and `make local`.

It runs moto_server through tools/localaws/emulator_shims.py, which adds the few APIs the Terraform
needs and moto lacks (each shim named and described there), with IAM enforced: requests must be
signed by a principal the emulator knows and are judged by its policies. The credentials below
(`test`/`test`) are an administrator; tools/localaws/emulator_iam.py says which services are
evaluated
per resource and which per action.

    from tools.localaws.emulator import Emulator, EmulatorError, free_port

    with Emulator(port=4566) as emulator:      # starts moto_server, waits until it answers
        emulator.endpoint                      # "http://127.0.0.1:4566"
        emulator.client("dynamodb")            # boto3 client with the test credentials/region
        emulator.env()                         # AWS_* variables that point an SDK at it
    # leaving the block (or emulator.stop()) kills moto_server's whole process group

- `Emulator(port, host="127.0.0.1", log_path=None, ready_timeout=30.0)`; the log goes to
  `log_path` (default `.local/emulator-<port>.log`).
- `start()` raises `EmulatorError` with a one-line fix when the port is taken, moto_server is
  missing, or it exits or does not answer in time (with the tail of its log).
- `free_port()` picks a free loopback port (for tests that must not clash with `make local`).
"""

from __future__ import annotations

import atexit
import contextlib
import errno
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from types import TracebackType
from typing import Any

REPO = Path(__file__).resolve().parents[2]
LOCAL_DIR = REPO / ".local"

# The emulator's administrator (an IAM user it creates at start, tools/localaws/emulator_iam.py):
# the
# conventional fake credentials, never real. IAM is enforced, so other keys are refused.
REGION = "us-east-1"
ACCESS_KEY_ID = "test"
SECRET_ACCESS_KEY = "test"
ACCOUNT_ID = "123456789012"  # moto's default account


class EmulatorError(RuntimeError):
    """The emulator could not be started; the message says why and what to do."""


def free_port(host: str = "127.0.0.1") -> int:
    """A port that is free on `host` right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def port_in_use(host: str, port: int) -> bool:
    """Whether a listener holds `port` on `host` (what would make a server's bind fail)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        # Like the server will: only a listener makes the bind fail, not TIME_WAIT leftovers.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError as error:
            return error.errno == errno.EADDRINUSE
    return False


def _moto_server_command() -> list[str]:
    # moto_server with the shims for the APIs it lacks (tools/localaws/emulator_shims.py), run from
    # REPO.
    return [sys.executable, "-m", "tools.localaws.emulator_shims"]


class Emulator:
    """A moto_server process in its own process group; use as a context manager."""

    def __init__(
        self,
        port: int = 4566,
        host: str = "127.0.0.1",
        log_path: Path | None = None,
        ready_timeout: float = 30.0,
    ) -> None:
        self.host = host
        self.port = port
        self.log_path = log_path or LOCAL_DIR / f"emulator-{port}.log"
        self.ready_timeout = ready_timeout
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def endpoint(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process else None

    def env(self) -> dict[str, str]:
        """The standard AWS SDK variables that send every client to the emulator."""
        return {
            "AWS_ENDPOINT_URL": self.endpoint,
            "AWS_REGION": REGION,
            "AWS_DEFAULT_REGION": REGION,
            "AWS_ACCESS_KEY_ID": ACCESS_KEY_ID,
            "AWS_SECRET_ACCESS_KEY": SECRET_ACCESS_KEY,
        }

    def client(self, service: str) -> Any:
        """A boto3 client for `service` pointed at the emulator with the test credentials."""
        import boto3

        return boto3.client(
            service,
            endpoint_url=self.endpoint,
            region_name=REGION,
            aws_access_key_id=ACCESS_KEY_ID,
            aws_secret_access_key=SECRET_ACCESS_KEY,
        )

    def start(self) -> Emulator:
        if self._process is not None:
            return self
        if port_in_use(self.host, self.port):
            raise EmulatorError(
                f"port {self.port} on {self.host} is already in use (another emulator or "
                f"`make local`?); stop that process or choose another port, e.g. "
                f"make local EMULATOR_PORT={self.port + 1}"
            )
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        command = [*_moto_server_command(), "-H", self.host, "-p", str(self.port)]
        print(f"==> starting the AWS emulator (moto) on {self.endpoint}", file=sys.stderr)
        with self.log_path.open("wb") as log:
            try:
                self._process = subprocess.Popen(
                    command,
                    stdin=subprocess.DEVNULL,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,  # own process group: stop() kills all of it
                    cwd=REPO,
                    # IAM enforced from the first request (moto's switch;
                    # tools/localaws/emulator_iam.py).
                    env={
                        **os.environ,
                        "PYTHONUNBUFFERED": "1",
                        "INITIAL_NO_AUTH_ACTION_COUNT": "0",
                    },
                )
            except FileNotFoundError as error:
                raise EmulatorError(
                    f"cannot run {command[0]} ({error}); run `make venv` to install moto[server]"
                ) from error
        # A process that exits without stop() (an uncaught error, sys.exit) still ends the
        # server; only SIGKILL of this process can leave it behind.
        atexit.register(self.stop)
        try:
            self._wait_ready()
        except BaseException:
            self.stop()
            raise
        return self

    def _wait_ready(self) -> None:
        assert self._process is not None
        deadline = time.monotonic() + self.ready_timeout
        url = f"{self.endpoint}/moto-api/"
        while True:
            if self._process.poll() is not None:
                raise EmulatorError(
                    f"moto_server exited with code {self._process.returncode} before it was "
                    f"ready; its log ({self.log_path}) ends with:\n{self.log_tail()}"
                )
            try:
                with urllib.request.urlopen(url, timeout=1):
                    return
            except urllib.error.HTTPError:
                return  # it answered: ready
            except (urllib.error.URLError, OSError):
                pass
            if time.monotonic() > deadline:
                raise EmulatorError(
                    f"moto_server did not answer on {self.endpoint} within "
                    f"{self.ready_timeout:.0f}s; see {self.log_path}:\n{self.log_tail()}"
                )
            time.sleep(0.1)

    def log_tail(self, lines: int = 15) -> str:
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return ""
        return "\n".join(text.splitlines()[-lines:])

    def stop(self) -> None:
        """Kill moto_server's whole process group (SIGTERM, then SIGKILL); idempotent."""
        process, self._process = self._process, None
        atexit.unregister(self.stop)
        if process is None or process.poll() is not None:
            return
        for sig, wait in ((signal.SIGTERM, 5.0), (signal.SIGKILL, 5.0)):
            try:
                os.killpg(process.pid, sig)
            except ProcessLookupError:
                return
            try:
                process.wait(timeout=wait)
                break
            except subprocess.TimeoutExpired:
                continue
        # Children that outlived the leader would still hold the group; reap them too.
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)

    def __enter__(self) -> Emulator:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
