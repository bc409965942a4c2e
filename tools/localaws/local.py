"""`make local`: the whole stack on this machine, in the foreground, until Ctrl-C or SIGTERM.

    PYTHONPATH=lambda .venv/bin/python -m tools.localaws.local --emulator-port 4566 --api-port 3000

1. checks what it needs (terraform, the built package, free ports);
2. starts the AWS emulator (moto's server) on 127.0.0.1:<emulator-port>;
3. applies the project's own Terraform to it from a staged copy (tools/localaws/stage.py);
4. serves the deployed API on http://127.0.0.1:<api-port> as API Gateway would
(tools/localaws/gateway.py),
   running the deployed package's handler under the function's Python (tools/localaws/runtime.py);
5. prints the URL and example curls.

`--vars FILE` (make local VARS=environments/prod.tfvars) applies an environment's variables as
written — deletion protection, alarms, capacity, authorization included — and overrides only what
cannot work here, saying so: a JWT issuer becomes the local one. Its authorization decides the
mode unless --auth is given. On shutdown, deletion protection is turned off before the destroy.

`--auth jwt` (make local AUTH=jwt) first starts a local OIDC issuer on loopback
(tools/localaws/oidc.py)
and applies with authorization = "JWT" trusting it; `make token SUB=<id> [ADMIN=1]` prints a
token. `--auth iam` (make local AUTH=iam) applies with authorization = "AWS_IAM": sign requests
with the emulator's credentials (curl --aws-sigv4 "aws:amz:us-east-1:execute-api" --user
test:test). `--auth none`, the default, leaves the API open as the README's first curls expect.

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

from tools.localaws.emulator import Emulator, EmulatorError, port_in_use
from tools.localaws.gateway import LocalGateway, start_gateway
from tools.localaws.oidc import LocalIssuer
from tools.localaws.runtime import InitError
from tools.localaws.stage import Stack, StackError, tfvars_literals

REPO = Path(__file__).resolve().parents[2]

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
            "terraform is not on PATH: install Terraform >= 1.11 "
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


AUTH_MODES = ("none", "jwt", "iam")
_MODE_OF = {"NONE": "none", "JWT": "jwt", "AWS_IAM": "iam"}


def tfvars_value(path: Path, name: str) -> Any:
    """A top-level literal a .tfvars file assigns to `name`, if it does."""
    return tfvars_literals(path).get(name)


def auth_mode_for(auth: str | None, var_file: Path | None) -> str:
    """--auth when given, else what the variables file's `authorization` means, else none."""
    if auth is not None:
        return auth
    if var_file is not None:
        authorization = tfvars_value(var_file, "authorization")
        if authorization is not None:
            if authorization not in _MODE_OF:
                raise LocalError(f"{var_file}: authorization = {authorization!r} is not known")
            return _MODE_OF[authorization]
    return "none"


def auth_variables(auth: str, issuer: LocalIssuer | None) -> dict[str, Any]:
    """The Terraform variables of an --auth mode."""
    if auth == "jwt":
        assert issuer is not None
        return {
            "authorization": "JWT",
            "jwt_issuer": issuer.url,
            "jwt_audience": list(issuer.audience),
            "admin_scope": issuer.admin_scope,
        }
    if auth == "iam":
        return {"authorization": "AWS_IAM"}
    return {}


def ready_banner(
    url: str, emulator: str, elapsed_s: float, auth: str = "none", issuer: str | None = None
) -> str:
    body = """'{"user_id":"01","name":"Joy"}'"""
    create = f"-X POST {url}/users -H 'Content-Type: application/json' -d {body}"
    if auth == "jwt":
        how = f"""Every route but GET /hello needs a bearer token from the local issuer {issuer}:

  TOKEN=$(make -s token SUB=01)            # acts as user 01; ADMIN=1 adds the admin scope
  curl {create} -H "Authorization: Bearer $TOKEN"
  curl {url}/users/01 -H "Authorization: Bearer $TOKEN"
  curl '{url}/users?limit=10' -H "Authorization: Bearer $(make -s token SUB=ops ADMIN=1)"
"""
    elif auth == "iam":
        how = f"""Every route but GET /hello needs a SigV4 signature (the emulator's credentials):

  curl --aws-sigv4 "aws:amz:us-east-1:execute-api" --user test:test {create}
  curl --aws-sigv4 "aws:amz:us-east-1:execute-api" --user test:test {url}/users/01
"""
    else:
        how = f"""  curl {create}
  curl '{url}/users?id=01'
"""
    return f"""
Users API on {url}  (authorization {auth.upper()}; AWS emulator on {emulator}; \
ready in {elapsed_s:.0f}s)
API docs (Swagger UI, "Try it out" calls this API): {url}/docs   contract: {url}/openapi.json

{how}
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
        auth: str = "none",
        var_file: Path | None = None,
    ) -> None:
        self.var_file = var_file
        if auth not in AUTH_MODES:
            raise LocalError(f"--auth must be one of {', '.join(AUTH_MODES)}, not {auth!r}")
        self.auth = auth
        self.issuer: LocalIssuer | None = None
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
        if self.auth == "jwt":
            self.issuer = LocalIssuer(LOCAL_DIR / "oidc", host=self.host).start()
            progress(f"local OIDC issuer on {self.issuer.url} (make token SUB=<id> for a token)")
        # One staged directory per emulator port: two `make local` on other ports never share state.
        name = STACK_NAME if self.emulator_port == 4566 else f"{STACK_NAME}-{self.emulator_port}"
        self.stack = Stack(self.emulator.endpoint, name=name)
        # A fresh emulator holds nothing: state left by a run that was killed is stale.
        self.stack.remove()
        overrides = auth_variables(self.auth, self.issuer)
        var_files = [self.var_file] if self.var_file is not None else []
        for path in var_files:
            progress(f"variables from {path}")
            for name, value in sorted(overrides.items()):
                written = tfvars_value(path, name)
                if written is not None and written != value:
                    progress(
                        f"note: {name} = {value!r} here, not {written!r} as {path} says: "
                        "the local issuer stands in for the real one, unreachable from here"
                    )
        with ticking("applying the Terraform"):
            try:
                self.stack.apply(overrides, var_files=var_files)
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
            # Deletion protection (prod.tfvars) would refuse the destroy: lift it first.
            problems += _attempt("terraform apply", stack.lift_deletion_protection)
            # The state was written by this run's apply: no need to read every resource back.
            problems += _attempt("terraform destroy", lambda: stack.destroy(refresh=False))
            if not problems:
                stack.remove()
        if self.emulator is not None:
            progress("stopping the emulator")
            self.emulator.stop()
            self.emulator = None
        if self.issuer is not None:
            self.issuer.stop()
            self.issuer = None
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
    parser.add_argument(
        "--auth",
        choices=AUTH_MODES,
        default=None,
        help="authorization to deploy: none (open), jwt (local OIDC issuer), iam (SigV4); "
        "default: the --vars file's, else none",
    )
    parser.add_argument(
        "--vars",
        type=Path,
        default=None,
        help="a .tfvars file to apply as written (e.g. environments/prod.tfvars)",
    )
    args = parser.parse_args(argv)
    try:
        if args.vars is not None and not args.vars.is_file():
            raise LocalError(f"no variables file {args.vars} (e.g. VARS=environments/prod.tfvars)")
        auth = auth_mode_for(args.auth, args.vars)
    except LocalError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1

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
    code = 0
    local = LocalStack(
        args.host, args.emulator_port, args.api_port, args.max_workers, stopping, auth, args.vars
    )
    try:
        preflight(args.host, args.emulator_port, args.api_port)
        gateway = local.start()
        print(
            ready_banner(
                gateway.url,
                f"http://{args.host}:{args.emulator_port}",
                time.monotonic() - started,
                auth,
                local.issuer.url if local.issuer else None,
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
