"""`make local`: the whole stack on this machine, in the foreground, until Ctrl-C or SIGTERM.

    .venv/bin/python -m tools.local --emulator-port 4566 --api-port 3000   (from the repo root)

1. checks what it needs (terraform, the built package, free ports);
2. starts the AWS emulator (moto's server) on 127.0.0.1:<emulator-port>;
3. applies the project's own Terraform to it from a staged copy (tools/stage.py);
4. serves the deployed API on http://127.0.0.1:<api-port> as API Gateway would (tools/gateway.py),
   running the deployed package's handler under the function's Python (tools/runtime.py);
5. prints the URL and example curls.

Ctrl-C or SIGTERM: terraform destroy, the emulator and the function's workers stopped, exit 0.
Any failure: one or two lines saying what and how to fix it, what was started is cleaned up, and
the exit code is 1.
"""

from __future__ import annotations

import argparse
import errno
import shutil
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from types import FrameType
from typing import Any

from tools.emulator import Emulator, EmulatorError, port_in_use
from tools.gateway import LocalGateway, start_gateway
from tools.runtime import InitError
from tools.stage import Stack, StackError

REPO = Path(__file__).resolve().parent.parent

LOCAL_DIR = REPO / ".local"
STACK_NAME = "local"


class Shutdown(Exception):  # a request, not an error
    """SIGINT or SIGTERM arrived."""


class LocalError(Exception):
    """A failure with its fix, printed as is."""


def progress(message: str) -> None:
    print(f"==> {message}", file=sys.stderr, flush=True)


def preflight(host: str, emulator_port: int, api_port: int) -> None:
    """Everything that can be checked before starting anything."""
    if shutil.which("terraform") is None:
        raise LocalError(
            "terraform is not on PATH: install Terraform >= 1.5 "
            "(https://developer.hashicorp.com/terraform/install), then run make local again"
        )
    if not (REPO / "build" / "package").is_dir() or not (REPO / "build" / "package.json").is_file():
        raise LocalError("the Lambda package is not built: run make build (make local does it)")
    if emulator_port == api_port:
        raise LocalError(f"the emulator and the API cannot share port {api_port}")
    for port, variable in ((api_port, "API_PORT"), (emulator_port, "EMULATOR_PORT")):
        if port_in_use(host, port):
            raise LocalError(
                f"port {port} on {host} is already in use (another make local?): stop that "
                f"process or pick another port, e.g. make local {variable}={_free_near(host, port)}"
            )


def _free_near(host: str, port: int) -> int:
    for candidate in range(port + 1, port + 100):
        if not port_in_use(host, candidate):
            return candidate
    return port + 1


@contextmanager
def ticking(what: str, every_s: float = 10.0) -> Iterator[None]:
    """Progress lines during a long step that prints nothing of its own."""
    done = threading.Event()
    started = time.monotonic()

    def tick() -> None:
        while not done.wait(every_s):
            progress(f"still {what} ({time.monotonic() - started:.0f}s)")

    thread = threading.Thread(target=tick, daemon=True)
    thread.start()
    try:
        yield
    finally:
        done.set()


def ready_banner(url: str, emulator: str, elapsed_s: float) -> str:
    return f"""
Users API on {url}  (AWS emulator on {emulator}; ready in {elapsed_s:.0f}s)
API docs (Swagger UI, "Try it out" calls this API): {url}/docs   contract: {url}/openapi.json

  curl -X POST {url}/users -H 'Content-Type: application/json' -d '{{"user_id":"01","name":"Joy"}}'
  curl '{url}/users?id=01'

Ctrl-C (or SIGTERM) destroys the stack and stops everything.
"""


class LocalStack:
    """What `make local` started, so whatever happens it can be stopped in reverse order."""

    def __init__(
        self,
        host: str,
        emulator_port: int,
        api_port: int,
        max_workers: int,
        stopping: threading.Event | None = None,
    ) -> None:
        self.stopping = stopping or threading.Event()
        self.host = host
        self.emulator_port = emulator_port
        self.api_port = api_port
        self.max_workers = max_workers
        self.emulator: Emulator | None = None
        self.stack: Stack | None = None
        self.gateway: LocalGateway | None = None

    def _check(self) -> None:
        if self.stopping.is_set():
            raise Shutdown

    def start(self) -> LocalGateway:
        """Each step runs to its end (a signal is acted on between steps, see main)."""
        self.emulator = Emulator(port=self.emulator_port, host=self.host)
        self.emulator.start()
        self._check()
        # One staged directory per emulator port: two `make local` on other ports never share state.
        name = STACK_NAME if self.emulator_port == 4566 else f"{STACK_NAME}-{self.emulator_port}"
        self.stack = Stack(self.emulator.endpoint, name=name)
        # A fresh emulator holds nothing: state left by a run that was killed is stale.
        self.stack.remove()
        with ticking("applying the Terraform"):
            try:
                self.stack.apply({})
            except StackError:
                self._check()  # Ctrl-C in a terminal interrupts terraform too: not a failure
                raise
        self._check()
        progress(f"starting the API on http://{self.host}:{self.api_port}")
        self.gateway = start_gateway(
            endpoint_url=self.emulator.endpoint,
            package_zip=self.stack.zip_path,
            cache_dir=LOCAL_DIR / "runtime",
            host=self.host,
            port=self.api_port,
            max_workers=self.max_workers,
        )
        self._check()
        interpreter = self.gateway.interpreter
        progress(f"handler warm under Python {interpreter.version} ({interpreter.path})")
        return self.gateway

    def stop(self) -> list[str]:
        """Stop everything that was started; the problems met on the way (cleanup goes on)."""
        problems: list[str] = []
        if self.gateway is not None:
            progress("stopping the API and the function's workers")
            self.gateway.close()
            self.gateway = None
        if self.stack is not None and self.emulator is not None:
            stack, self.stack = self.stack, None
            # The state was written by this run's apply: no need to read every resource back.
            problems += _attempt("terraform destroy", lambda: stack.destroy(refresh=False))
            if not problems:
                stack.remove()
        if self.emulator is not None:
            progress("stopping the emulator")
            self.emulator.stop()
            self.emulator = None
        return problems


def _attempt(what: str, step: Callable[[], Any]) -> list[str]:
    try:
        with ticking(what.replace("terraform destroy", "destroying")):
            step()
    except Shutdown:
        return [f"{what} interrupted"]
    except (StackError, OSError) as error:
        return [f"{what} failed: {str(error).splitlines()[0]}"]
    return []


def explain(error: Exception, api_port: int) -> list[str]:
    """One or two lines: what failed, and the fix."""
    if isinstance(error, LocalError | EmulatorError):
        return [f"error: {error}"]
    if isinstance(error, StackError):
        summary = str(error).splitlines()[0]
        detail = next(
            (
                line.strip("│ ").strip()
                for line in error.stderr_tail.splitlines()
                if "Error:" in line
            ),
            "",
        )
        return [
            f"error: {summary}" + (f": {detail}" if detail else ""),
            "fix the Terraform configuration (or the package: make build), then run make local",
        ]
    if isinstance(error, InitError):
        return [
            f"error: {error}",
            "fix the package (make build: does it vendor every dependency?), then make local",
        ]
    if isinstance(error, OSError) and error.errno == errno.EADDRINUSE:
        return [
            f"error: port {api_port} was taken meanwhile; run make local API_PORT={api_port + 1}"
        ]
    if isinstance(error, LookupError | ValueError):
        return [f"error: the deployed API cannot be served: {error}"]
    return [f"error: {type(error).__name__}: {error}"]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Run the whole stack locally (make local).")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--emulator-port", type=int, default=4566)
    parser.add_argument("--api-port", type=int, default=3000)
    parser.add_argument(
        "--max-workers", type=int, default=8, help="concurrent execution environments"
    )
    args = parser.parse_args(argv)

    stopping = threading.Event()

    def on_signal(signum: int, _frame: FrameType | None) -> None:
        # The first signal lets the running step (terraform, pip) end cleanly and stops between
        # steps: killing terraform mid-run would orphan its provider process. A second one
        # aborts the step at once.
        if stopping.is_set():
            raise Shutdown
        stopping.set()
        print(file=sys.stderr)
        progress(f"{signal.Signals(signum).name}: shutting down (again to abort the current step)")

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)

    started = time.monotonic()
    local = LocalStack(args.host, args.emulator_port, args.api_port, args.max_workers, stopping)
    code = 0
    try:
        preflight(args.host, args.emulator_port, args.api_port)
        gateway = local.start()
        print(
            ready_banner(
                gateway.url, f"http://{args.host}:{args.emulator_port}", time.monotonic() - started
            ),
            flush=True,
        )
        while not stopping.wait(3600):
            pass
    except Shutdown:
        pass
    except Exception as error:
        for line in explain(error, args.api_port):
            print(line, file=sys.stderr)
        code = 1
    finally:
        problems = _stop(local)
    for problem in problems:
        print(f"warning: {problem}", file=sys.stderr)
    if code == 0:
        progress("stopped; nothing left running")
    return code


def _stop(local: LocalStack) -> list[str]:
    # A second Ctrl-C while stopping interrupts terraform destroy only: the emulator, which holds
    # everything destroy would remove, is stopped regardless.
    while True:
        try:
            return local.stop()
        except Shutdown:
            continue


if __name__ == "__main__":
    sys.exit(main())
