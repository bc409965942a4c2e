"""Cold start: fresh processes of the function's Python, started the way Lambda starts one.

Every process runs with PYTHONDONTWRITEBYTECODE=1 (Lambda's /var/task is read-only, so nothing is
cached between cold starts) and PYTHONPATH = a package + the runtime's SDK, the order Lambda uses.
The SDK (boto3/botocore at requirements-dev.txt's pins) is precompiled, as the runtime ships it.
DynamoDB is a canned-response HTTP stub on loopback (AWS_ENDPOINT_URL), so the only wait is one
loopback round trip. Kinds, run in rotation so none always goes first:

    floor         import boto3; import pydantic from the package without bytecode; one client
    read, write   the package with bytecode: import users_api.app, then GET /users?id=... or
                  POST /users (the first write builds the pydantic models)
    read_source,  the same from the package without bytecode (lambda_bytecode = false)
    write_source

Figures are medians of CPU time (the machine is shared); wall time is in bench.json.
"""

from __future__ import annotations

import contextlib
import json
import os
import statistics
import subprocess
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from werkzeug.serving import make_server
from werkzeug.wsgi import get_input_stream

from tools import build
from tools.bench.cases import COLD_READ, COLD_WRITE, FUNCTION_ENV, SDK_ENV, USER_ITEM
from tools.localaws.gateway_http import SERVE_KWARGS, QuietHandler

BENCH_DIR = build.DEFAULT_OUT / "bench"
READ_TARGET = 0.85
WRITE_TARGET = 1.0


@dataclass(frozen=True)
class Packages:
    """The function's Python, the runtime's SDK for it, and the package built both ways."""

    python: str
    version: str  # the interpreter's full version
    sdk: Path
    bytecode: Path
    source: Path


def prepare(target: build.Target) -> Packages:
    """Build the package with and without bytecode for target, and the precompiled SDK.

    Raises tools.build.BuildError (saying what to install) when target's Python is missing.
    """
    compiler = build.bytecode_compiler(target)
    with_bytecode = build.build(
        target, BENCH_DIR / "bytecode", bytecode=True, cache_dir=build.DEFAULT_OUT
    )
    without = build.build(target, BENCH_DIR / "source", cache_dir=build.DEFAULT_OUT)
    sdk = build.install_runtime_deps(
        target.python_version, build.DEFAULT_OUT / f"runtime-deps-{target.python_version}"
    )
    marker = sdk / f".compiled-{compiler.version}"
    if not marker.exists():  # as the runtime ships it: boto3 and botocore with their bytecode
        subprocess.run(
            [str(compiler.python), "-I", "-m", "compileall", "-q", str(sdk)],
            check=True,
            capture_output=True,
        )
        marker.touch()
    return Packages(
        str(compiler.python),
        compiler.version,
        sdk,
        Path(str(with_bytecode["package_dir"])),
        Path(str(without["package_dir"])),
    )


# What the stub answers per DynamoDB operation (by X-Amz-Target).
_CANNED: dict[str, dict[str, Any]] = {
    "GetItem": {"Item": USER_ITEM},
    "PutItem": {},
    "UpdateItem": {"Attributes": USER_ITEM},
    "Query": {"Items": [USER_ITEM], "Count": 1, "ScannedCount": 1},
}


def _stub_application(environ: dict[str, Any], start_response: Any) -> list[bytes]:
    get_input_stream(environ).read()
    operation = (environ.get("HTTP_X_AMZ_TARGET") or "").rpartition(".")[2]
    payload = json.dumps(_CANNED.get(operation, {})).encode()
    headers = [
        ("Content-Type", "application/x-amz-json-1.0"),
        ("Content-Length", str(len(payload))),
    ]
    start_response("200 OK", headers)
    return [payload]


@contextlib.contextmanager
def stub_dynamodb() -> Iterator[str]:
    """An HTTP endpoint on loopback answering DynamoDB calls with canned responses; its URL."""
    server = make_server(
        "127.0.0.1", 0, _stub_application, threaded=True, request_handler=QuietHandler
    )
    thread = threading.Thread(
        target=server.serve_forever, kwargs=SERVE_KWARGS, name="stub-dynamodb", daemon=True
    )
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.port}"
    finally:
        server.shutdown()
        server.server_close()


FLOOR_SCRIPT = """\
import time
_t0, _c0 = time.perf_counter(), time.process_time()
import boto3
import pydantic
pydantic.BaseModel  # pydantic imports lazily: this is the real import
boto3.client("dynamodb")
_t1, _c1 = time.perf_counter(), time.process_time()
import json
print(json.dumps({"wall_ms": (_t1 - _t0) * 1e3, "cpu_ms": (_c1 - _c0) * 1e3}))
"""

HANDLER_SCRIPT = """\
import time
_t0, _c0 = time.perf_counter(), time.process_time()
import users_api.app
_response = users_api.app.handler(%r, None)
_t1, _c1 = time.perf_counter(), time.process_time()
import json
assert _response["statusCode"] in (200, 201), _response
print(json.dumps({"wall_ms": (_t1 - _t0) * 1e3, "cpu_ms": (_c1 - _c0) * 1e3}))
"""

# kind -> (script, which package)
KINDS: dict[str, tuple[str, str]] = {
    "floor": (FLOOR_SCRIPT, "source"),
    "read": (HANDLER_SCRIPT % (COLD_READ,), "bytecode"),
    "write": (HANDLER_SCRIPT % (COLD_WRITE,), "bytecode"),
    "read_source": (HANDLER_SCRIPT % (COLD_READ,), "source"),
    "write_source": (HANDLER_SCRIPT % (COLD_WRITE,), "source"),
}


def child_env(packages: Packages, package: Path, endpoint: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "PYTHON"))}
    env.update(SDK_ENV)
    env.update(FUNCTION_ENV)
    env["AWS_ENDPOINT_URL"] = endpoint
    env["PYTHONPATH"] = os.pathsep.join([str(package), str(packages.sdk)])
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    return env


def run_child(python: str, script: str, env: dict[str, str]) -> dict[str, float]:
    """Run script in a fresh process; its JSON line."""
    result = subprocess.run(
        [python, "-c", script], env=env, capture_output=True, text=True, check=False
    )
    if result.returncode != 0:
        tail = "\n".join(result.stderr.strip().splitlines()[-8:])
        raise RuntimeError(f"{python} exited with {result.returncode}:\n{tail}")
    figures: dict[str, float] = json.loads(result.stdout.strip().splitlines()[-1])
    return figures


def measure(packages: Packages, endpoint: str, rounds: int) -> dict[str, Any]:
    """Every kind in rotation for `rounds` rounds (after one untimed round); medians, ratios."""
    envs = {
        name: child_env(packages, getattr(packages, name), endpoint)
        for name in ("bytecode", "source")
    }
    kinds = list(KINDS)
    for kind in kinds:  # untimed: the page cache holds every file afterwards
        run_child(packages.python, KINDS[kind][0], envs[KINDS[kind][1]])
    runs: dict[str, list[dict[str, float]]] = {kind: [] for kind in kinds}
    for round_ in range(rounds):
        shift = round_ % len(kinds)
        for kind in kinds[shift:] + kinds[:shift]:
            script, package = KINDS[kind]
            runs[kind].append(run_child(packages.python, script, envs[package]))
    cpu = {kind: statistics.median(run["cpu_ms"] for run in runs[kind]) for kind in kinds}
    return {
        "rounds": rounds,
        "python": packages.version,
        "cpu_ms": cpu,
        "ratio": {kind: cpu[kind] / cpu["floor"] for kind in kinds if kind != "floor"},
        "wall_ms": {
            kind: statistics.median(run["wall_ms"] for run in runs[kind]) for kind in kinds
        },
        "runs_cpu_ms": {kind: [round(run["cpu_ms"], 1) for run in runs[kind]] for kind in kinds},
    }
