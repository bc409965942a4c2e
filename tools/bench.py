"""`make bench`: the handler's speed against its floor, round trips, package size, throughput.

    .venv/bin/python tools/bench.py [--pairs 30] [--shipped-pairs 4] [--iterations 5000]
        [--load-seconds 10] [--concurrency 16] [--skip-local] [--json bench.json] [--markdown F]

Prints one table (stdout; progress on stderr), marks each target PASS/FAIL, and writes the same
figures to bench.json (exit 0 either way: it reports, it does not gate):

- cold start: a fresh process of the function's Python (tools.build.find_interpreter; PYTHONPATH =
  build/package + the runtime's boto3, the order Lambda uses; the venv's Python with lambda/ when
  that interpreter is missing, said in a note) importing `users_api.app` and serving its first
  request (GET /users?id=...), against the floor: a fresh process importing boto3 and pydantic
  (`pydantic.BaseModel`, which performs the real import) and creating one DynamoDB client. The
  DynamoDB call goes to a stub HTTP endpoint on loopback (AWS_ENDPOINT_URL) answering a canned
  GetItem, in this process: no moto, so the only extra is one loopback round trip. Floor, handler
  and floor+ (the floor plus one model with a constrained field and one GetItem: what any pydantic
  handler pays) run in rotation; medians of CPU time (the machine is shared) and their ratio, wall
  time alongside. Bytecode comes from a prefix (build/bench-pycache) so nothing compiles; a
  shorter loop then runs the package without bytecode, as the zip ships it. `-X importtime`
  names what importing the handler adds once the floor is imported.
- warm overhead: under the same interpreter (a child process), the handler with the store's
  client replaced by a fake answering canned DynamoDB responses at once: p50/p99 of get, create,
  update, list; then a pass with timers around each layer (event parsing, routing, validation,
  store marshalling, serialisation) inside whole requests.
- DynamoDB round trips per request, counted against moto's mock_aws (as the unit tests do).
- package size: zipped as archive_file does (tools.build.write_zip) and unzipped (manifest).
- requests/s, p50, p99 through `make local`'s HTTP front (emulator, terraform apply, gateway on
  free ports, torn down afterwards) for a mixed workload at concurrency 16 (information). If the
  stack cannot start, that row says why and the rest still prints.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import os
import platform
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from functools import partial
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, ClassVar

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))  # `python tools/bench.py` imports tools.* like the tests do

from tools import build  # noqa: E402

BUILD = REPO / "build"
PACKAGE = BUILD / "package"
MANIFEST = BUILD / "package.json"
PYCACHE = BUILD / "bench-pycache"
LOCAL_DIR = REPO / ".local"
LAMBDA_SRC = REPO / "lambda"

COLD_RATIO_TARGET = 1.10
WARM_P50_TARGET_US = 150.0
ZIP_TARGET_BYTES = 3 * 1024 * 1024

USERS_TABLE = "users-bench-users"
EMAILS_TABLE = "users-bench-user-emails"
EMAIL_INDEX = "email-index"
FUNCTION_ENV = {
    "USERS_TABLE": USERS_TABLE,
    "EMAILS_TABLE": EMAILS_TABLE,
    "EMAIL_INDEX": EMAIL_INDEX,
    "LOG_LEVEL": "INFO",
}
# The SDK's view: a region, fake credentials from the environment (no file or IMDS lookups).
SDK_ENV = {
    "AWS_REGION": "us-east-1",
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_ACCESS_KEY_ID": "bench",
    "AWS_SECRET_ACCESS_KEY": "bench",
    "AWS_EC2_METADATA_DISABLED": "true",
    "AWS_CONFIG_FILE": os.devnull,
    "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
}

USER_ID = "u-0001"
USER_ITEM: dict[str, Any] = {
    "user_id": {"S": USER_ID},
    "name": {"S": "Ada Lovelace"},
    "email": {"S": "ada@example.com"},
    "created_at": {"S": "2026-11-23T08:00:00.000Z"},
    "updated_at": {"S": "2026-11-23T08:00:00.000Z"},
    "version": {"N": "3"},
}


def progress(message: str) -> None:
    print(f"bench: {message}", file=sys.stderr, flush=True)


# --- the table ---------------------------------------------------------------------------------


@dataclass
class Row:
    measure: str
    result: str
    target: str = ""
    status: str = "info"  # PASS, FAIL, info, or "error" when the measure could not be taken


@dataclass
class Report:
    started: str
    machine: str
    rows: list[Row] = field(default_factory=list)
    figures: dict[str, Any] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    def add(self, measure: str, result: str, target: str = "", status: str = "info") -> None:
        self.rows.append(Row(measure, result, target, status))


def passed(ok: bool) -> str:
    return "PASS" if ok else "FAIL"


def render_text(report: Report) -> str:
    headers = ("measure", "result", "target", "status")
    cells = [headers, *((r.measure, r.result, r.target, r.status) for r in report.rows)]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
    lines = [f"make bench - {report.started}, {report.machine}"]
    for index, row in enumerate(cells):
        lines.append("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)))
        if index == 0:
            lines.append("  ".join("-" * width for width in widths))
    lines += [f"note: {note}" for note in report.notes]
    return "\n".join(line.rstrip() for line in lines)


def render_markdown(report: Report) -> str:
    lines = [
        f"`make bench` on {report.started} ({report.machine}):",
        "",
        "| Measure | Result | Target | Status |",
        "|---|---|---|---|",
    ]
    for row in report.rows:
        result = row.result.replace("|", "\\|")
        measure = f"↳ {row.measure.strip()}" if row.measure.startswith("  ") else row.measure
        lines.append(f"| {measure} | {result} | {row.target} | {row.status} |")
    if report.notes:
        lines.append("")
        lines += [f"- {note}" for note in report.notes]
    return "\n".join(lines) + "\n"


def percentile(values: list[float], fraction: float) -> float:
    """The nearest-rank percentile of values (fraction in 0..1)."""
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, math.ceil(fraction * len(ordered)) - 1))
    return ordered[index]


# --- events ------------------------------------------------------------------------------------


def make_event(
    method: str,
    path: str,
    *,
    route_key: str,
    path_params: dict[str, str] | None = None,
    query: dict[str, str] | None = None,
    body: Any = None,
) -> dict[str, Any]:
    """A payload-2.0 event shaped like API Gateway's (tests/events/*.json) for an explicit route."""
    raw_query = "&".join(f"{k}={v}" for k, v in (query or {}).items())
    event: dict[str, Any] = {
        "version": "2.0",
        "routeKey": route_key,
        "rawPath": path,
        "rawQueryString": raw_query,
        "headers": {
            "accept": "application/json",
            "content-type": "application/json",
            "host": "abc123.execute-api.us-east-1.amazonaws.com",
            "user-agent": "curl/8.5.0",
            "x-forwarded-for": "198.51.100.7",
            "x-forwarded-port": "443",
            "x-forwarded-proto": "https",
        },
        "requestContext": {
            "accountId": "123456789012",
            "apiId": "abc123",
            "domainName": "abc123.execute-api.us-east-1.amazonaws.com",
            "domainPrefix": "abc123",
            "http": {
                "method": method,
                "path": path,
                "protocol": "HTTP/1.1",
                "sourceIp": "198.51.100.7",
                "userAgent": "curl/8.5.0",
            },
            "requestId": "UTaJdgGFoAMEVxS=",
            "routeKey": route_key,
            "stage": "$default",
            "time": "23/Nov/2026:08:30:02 +0000",
            "timeEpoch": 1795336202000,
        },
        "isBase64Encoded": False,
    }
    if query:
        event["queryStringParameters"] = dict(query)
    if path_params:
        event["pathParameters"] = dict(path_params)
    if body is not None:
        event["body"] = json.dumps(body)
    return event


WARM_EVENTS: dict[str, dict[str, Any]] = {
    "get": make_event(
        "GET",
        f"/users/{USER_ID}",
        route_key="GET /users/{user_id}",
        path_params={"user_id": USER_ID},
    ),
    "create": make_event(
        "POST",
        "/users",
        route_key="POST /users",
        body={"name": "Grace Hopper", "email": "grace@example.com"},
    ),
    "update": make_event(
        "PUT",
        f"/users/{USER_ID}",
        route_key="PUT /users/{user_id}",
        path_params={"user_id": USER_ID},
        body={"name": "Ada King", "email": "ada@example.com"},
    ),
    "list": make_event("GET", "/users", route_key="GET /users", query={"limit": "10"}),
}
COLD_EVENT = make_event("GET", "/users", route_key="GET /users", query={"id": USER_ID})
# A cold start whose first request writes: the first one that builds the pydantic models.
COLD_WRITE_EVENT = make_event(
    "POST",
    "/users",
    route_key="POST /users",
    body={"user_id": "c1", "name": "Cold", "email": "c@x.io"},
)


# --- the function's interpreter and environment ------------------------------------------------


@dataclass
class FunctionPython:
    """The interpreter and PYTHONPATH the bench runs the function under."""

    python: str
    version: str
    pythonpath: list[str]
    fallback: str | None = None  # why the function's own Python is not used

    def env(self, **extra: str) -> dict[str, str]:
        env = {
            key: value
            for key, value in os.environ.items()
            if not key.startswith(("AWS_", "PYTHON"))
        }
        env.update(SDK_ENV)
        env.update(FUNCTION_ENV)
        env["PYTHONPATH"] = os.pathsep.join(self.pythonpath)
        env.update(extra)
        return env


def function_python() -> FunctionPython:
    """The function's Python (the manifest's version) with build/package and the runtime's SDK;
    the venv's Python with lambda/ when that interpreter is not installed."""
    manifest = json.loads(MANIFEST.read_text())
    version = str(manifest["python_version"])
    python = build.find_interpreter(version)
    if python is not None:
        sdk = build.install_runtime_deps(version, BUILD / f"runtime-deps-{version}")
        return FunctionPython(str(python), version, [str(PACKAGE), str(sdk)])
    current = ".".join(map(str, sys.version_info[:2]))
    return FunctionPython(
        sys.executable,
        current,
        [str(LAMBDA_SRC)],
        fallback=f"Python {version} not found: the venv's Python {current} with lambda/ instead",
    )


# --- a stub DynamoDB endpoint ------------------------------------------------------------------


class _StubHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    canned: ClassVar[dict[str, dict[str, Any]]] = {
        "GetItem": {"Item": USER_ITEM},
        "PutItem": {},
        "UpdateItem": {"Attributes": USER_ITEM},
        "Query": {"Items": [USER_ITEM], "Count": 1, "ScannedCount": 1},
    }

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        operation = (self.headers.get("X-Amz-Target") or "").rpartition(".")[2]
        payload = json.dumps(self.canned.get(operation, {})).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/x-amz-json-1.0")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, format: str, *args: Any) -> None:
        pass


@contextlib.contextmanager
def stub_dynamodb() -> Iterator[str]:
    """An HTTP endpoint on loopback answering DynamoDB calls with canned responses; its URL."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _StubHandler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, name="stub-dynamodb", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


# --- cold start --------------------------------------------------------------------------------

FLOOR_SCRIPT = """\
import time
_t0, _c0 = time.perf_counter(), time.process_time()
import boto3
import pydantic
pydantic.BaseModel  # pydantic imports lazily: this is the real import
boto3.client("dynamodb")
_t1, _c1 = time.perf_counter(), time.process_time()
import json
print(json.dumps({"total_ms": (_t1 - _t0) * 1e3, "cpu_ms": (_c1 - _c0) * 1e3}))
"""

# What any handler of this shape pays beyond the floor: a model with a constrained field (pydantic
# imports its field machinery lazily) and the SDK's first call. Information, not the target's floor.
FLOOR_PLUS_SCRIPT = """\
import time
_t0, _c0 = time.perf_counter(), time.process_time()
import boto3
import pydantic
class _Probe(pydantic.BaseModel):
    n: int = pydantic.Field(ge=1)
boto3.client("dynamodb").get_item(TableName="t", Key={"k": {"S": "1"}})
_t1, _c1 = time.perf_counter(), time.process_time()
import json
print(json.dumps({"total_ms": (_t1 - _t0) * 1e3, "cpu_ms": (_c1 - _c0) * 1e3}))
"""

HANDLER_SCRIPT = """\
import time
_t0, _c0 = time.perf_counter(), time.process_time()
import users_api.app
_t1 = time.perf_counter()
_response = users_api.app.handler(%r, None)
_t2, _c2 = time.perf_counter(), time.process_time()
import json
assert _response["statusCode"] in (200, 201), _response
print(json.dumps({"import_ms": (_t1 - _t0) * 1e3, "first_request_ms": (_t2 - _t1) * 1e3,
                  "total_ms": (_t2 - _t0) * 1e3, "cpu_ms": (_c2 - _c0) * 1e3}))
"""


def run_child(python: str, script: str, env: dict[str, str]) -> dict[str, float]:
    """Run script in a fresh process; its JSON line, plus the process's wall time."""
    started = time.perf_counter()
    result = subprocess.run(
        [python, "-c", script], env=env, capture_output=True, text=True, check=False
    )
    wall_ms = (time.perf_counter() - started) * 1e3
    if result.returncode != 0:
        tail = "\n".join(result.stderr.strip().splitlines()[-8:])
        raise RuntimeError(f"{python} exited with {result.returncode}:\n{tail}")
    figures: dict[str, float] = json.loads(result.stdout.strip().splitlines()[-1])
    figures["wall_ms"] = wall_ms
    return figures


def cold_env(fn: FunctionPython, endpoint: str, *, bytecode: bool) -> dict[str, str]:
    """The child's environment: bytecode read from and written to a prefix (never into
    build/package), or no bytecode for the package at all (as Lambda runs the zip)."""
    extra = {"AWS_ENDPOINT_URL": endpoint, "PYTHONPYCACHEPREFIX": str(PYCACHE)}
    if not bytecode:
        extra["PYTHONDONTWRITEBYTECODE"] = "1"
    return fn.env(**extra)


def drop_package_bytecode() -> None:
    """Remove the prefix's bytecode of build/package (keeping the SDK's and the stdlib's)."""
    mirrored = PYCACHE / PACKAGE.relative_to(PACKAGE.anchor)
    shutil.rmtree(mirrored, ignore_errors=True)


def measure_cold_start(
    fn: FunctionPython, endpoint: str, pairs: int, *, bytecode: bool = True
) -> dict[str, Any]:
    """Floor, handler (and floor+) processes in turn, `pairs` rounds; medians and the ratio."""
    scripts = {
        "floor": FLOOR_SCRIPT,
        "handler": HANDLER_SCRIPT % (COLD_EVENT,),
        "handler_write": HANDLER_SCRIPT % (COLD_WRITE_EVENT,),
        "floor_plus": FLOOR_PLUS_SCRIPT,
    }
    # One untimed round: all then read the stdlib's and the SDK's bytecode from the prefix.
    warm_env = cold_env(fn, endpoint, bytecode=True)
    for script in scripts.values():
        run_child(fn.python, script, warm_env)
    if not bytecode:
        drop_package_bytecode()
    env = cold_env(fn, endpoint, bytecode=bytecode)
    runs: dict[str, list[dict[str, float]]] = {kind: [] for kind in scripts}
    kinds = list(scripts)
    for round_ in range(pairs):
        shift = round_ % len(kinds)  # rotate the order so no kind always runs first
        for kind in kinds[shift:] + kinds[:shift]:
            runs[kind].append(run_child(fn.python, scripts[kind], env))

    def median(kind: str, figure: str = "total_ms") -> float:
        return statistics.median(run[figure] for run in runs[kind])

    cpu = {kind: median(kind, "cpu_ms") for kind in kinds}
    wall = {kind: median(kind) for kind in kinds}
    return {
        "pairs": pairs,
        "bytecode": bytecode,
        # The target is judged on CPU time: this machine is shared, and CPU time is what a
        # cold start spends here (the stub's loopback answer is the only wait, in both).
        "floor_ms": cpu["floor"],
        "handler_ms": cpu["handler"],
        "ratio": cpu["handler"] / cpu["floor"],
        "floor_plus_ms": cpu["floor_plus"],
        "ratio_to_floor_plus": cpu["handler"] / cpu["floor_plus"],
        "write_first_ms": cpu["handler_write"],
        "write_first_ratio": cpu["handler_write"] / cpu["floor"],
        # Neighbouring runs share the machine's load: the per-round ratio is the steadier figure.
        "ratio_per_round_median": statistics.median(
            h["cpu_ms"] / f["cpu_ms"] for h, f in zip(runs["handler"], runs["floor"], strict=True)
        ),
        "wall_ms": wall,
        "wall_ratio": wall["handler"] / wall["floor"],
        "handler_import_wall_ms": median("handler", "import_ms"),
        "first_request_wall_ms": median("handler", "first_request_ms"),
        "process_wall_ms": {kind: median(kind, "wall_ms") for kind in kinds},
        "runs_cpu_ms": {kind: [round(run["cpu_ms"], 1) for run in runs[kind]] for kind in kinds},
        "runs_wall_ms": {kind: [round(run["total_ms"], 1) for run in runs[kind]] for kind in kinds},
    }


def parse_importtime(stderr: str) -> list[dict[str, Any]]:
    """`-X importtime` lines as [{module, depth, self_ms, cumulative_ms}] in import order."""
    entries = []
    for line in stderr.splitlines():
        if not line.startswith("import time:") or "self [us]" in line:
            continue
        head, cumulative_us, name = line.split("|", 2)
        name = name.rstrip()
        entries.append(
            {
                "module": name.strip(),
                "depth": (len(name) - len(name.lstrip()) - 1) // 2,
                "self_ms": int(head.split(":")[1]) / 1e3,
                "cumulative_ms": int(cumulative_us) / 1e3,
            }
        )
    return entries


PROFILE_MARK = "-- floor imported --"
PROFILE_SCRIPT = f"""\
import sys
import boto3
import pydantic
pydantic.BaseModel
boto3.client("dynamodb")
print({PROFILE_MARK!r}, file=sys.stderr, flush=True)
import users_api.app
"""


def import_profile(fn: FunctionPython, endpoint: str) -> dict[str, Any]:
    """One `-X importtime` run of what importing the handler adds once the floor is imported."""
    env = cold_env(fn, endpoint, bytecode=True)
    result = subprocess.run(
        [fn.python, "-X", "importtime", "-c", PROFILE_SCRIPT],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0 or PROFILE_MARK not in result.stderr:
        raise RuntimeError(result.stderr.strip().splitlines()[-1])
    entries = parse_importtime(result.stderr.split(PROFILE_MARK, 1)[1])
    ours = [e for e in entries if e["module"].startswith("users_api")]
    others = [e for e in entries if not e["module"].startswith("users_api")]
    return {
        "beyond_floor_ms": sum(e["self_ms"] for e in entries),
        "ours": sorted(ours, key=lambda e: -e["self_ms"]),
        "others": sorted(others, key=lambda e: -e["self_ms"])[:8],
    }


# --- warm overhead (runs under the function's Python, see main's --warm-child) -----------------


class FakeDynamoDB:
    """Answers the store's calls with canned responses at once, and counts them."""

    def __init__(self) -> None:
        self.calls = 0

    def get_item(self, **_: Any) -> dict[str, Any]:
        self.calls += 1
        return {"Item": USER_ITEM}

    def put_item(self, **_: Any) -> dict[str, Any]:
        self.calls += 1
        return {}

    def transact_write_items(self, **_: Any) -> dict[str, Any]:
        self.calls += 1
        return {}

    def update_item(self, **_: Any) -> dict[str, Any]:
        self.calls += 1
        return {"Attributes": USER_ITEM}

    def delete_item(self, **_: Any) -> dict[str, Any]:
        self.calls += 1
        return {}

    def query(self, **_: Any) -> dict[str, Any]:
        self.calls += 1
        return {"Items": [USER_ITEM], "Count": 1}

    def scan(self, **kwargs: Any) -> dict[str, Any]:
        self.calls += 1
        limit = int(kwargs.get("Limit", 10))
        items = [
            {**USER_ITEM, "user_id": {"S": f"u-{n:04d}"}, "email": {"S": f"u{n}@example.com"}}
            for n in range(limit)
        ]
        return {"Items": items, "Count": limit, "LastEvaluatedKey": {"user_id": {"S": "u-9999"}}}


def _time_calls(call: Callable[[], Any], iterations: int, warmup: int) -> list[float]:
    """Per-call durations in microseconds, after warmup calls."""
    for _ in range(warmup):
        call()
    clock = time.perf_counter_ns
    samples = []
    for _ in range(iterations):
        started = clock()
        call()
        samples.append((clock() - started) / 1e3)
    return samples


def _import_app() -> Any:
    for key, value in {**SDK_ENV, **FUNCTION_ENV}.items():
        os.environ.setdefault(key, value)
    from users_api import app

    return app


STAGES = ("parsing", "routing", "validation", "store", "serialisation")
WARM_BLOCKS = 10


def measure_warm(iterations: int = 5000, warmup: int = 500) -> dict[str, Any]:
    """p50/p99 of the handler per route with a fake client, and each layer's median cost.

    In-process: `users_api.app` with its SERVICES swapped for a store on FakeDynamoDB (restored
    afterwards), so all that is timed is our code plus a Python method call per AWS call.
    """
    app = _import_app()
    from users_api.paging import PageTokens
    from users_api.routes import Services
    from users_api.store import Tables, UserStore

    fake = FakeDynamoDB()
    tables = Tables(USERS_TABLE, EMAILS_TABLE, EMAIL_INDEX)
    store = UserStore(fake, tables)  # type: ignore[arg-type]
    services = Services(store=store, tokens=PageTokens(USERS_TABLE))
    saved = app.SERVICES
    app.SERVICES = services
    try:
        routes: dict[str, Any] = {}
        for name, event in WARM_EVENTS.items():
            response = app.handler(event, None)
            if response["statusCode"] >= 300:
                raise RuntimeError(f"{name}: {response['statusCode']} {response['body']}")
            for _ in range(warmup):
                app.handler(event, None)
            calls_before = fake.calls
            samples: list[float] = []
            per_stage: dict[str, list[float]] = {stage: [] for stage in (*STAGES, "other")}
            # Plain and timed requests in alternating blocks, so both see the same machine load.
            blocks = max(1, min(WARM_BLOCKS, iterations))
            for block in range(blocks):
                size = iterations // blocks + (block < iterations % blocks)
                samples += _time_calls(partial(app.handler, event, None), size, 0)
                _timed_requests(app, services, event, max(size // 2, 1), per_stage)
            routes[name] = {
                "p50_us": statistics.median(samples),
                "p99_us": percentile(samples, 0.99),
                "mean_us": statistics.fmean(samples),
                "aws_calls_per_request": (fake.calls - calls_before)
                / (len(samples) + len(per_stage["other"])),
                "stages_us": {stage: statistics.median(v) for stage, v in per_stage.items()},
            }
    finally:
        app.SERVICES = saved
    return {
        "python": platform.python_version(),
        "iterations": iterations,
        "warmup": warmup,
        "routes": routes,
    }


@contextlib.contextmanager
def stage_timers(app: Any, services: Any) -> Iterator[dict[str, int]]:
    """Wrap each layer's entry points in timers for the duration; yields the running totals (ns).

    In context rather than one layer at a time, so the parts add up to the whole request:
    parsing = http.parse_event; routing = Router.resolve; validation = models.validate and the
    path parameter's check; store = the UserStore methods (item marshalling and the fake call);
    serialisation = building the response body (routes' json_response) and to_event.
    """
    from users_api import http, models, routes

    totals = dict.fromkeys(STAGES, 0)
    clock = time.perf_counter_ns
    undo: list[Callable[[], None]] = []

    def timed(stage: str, function: Callable[..., Any]) -> Callable[..., Any]:
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            started = clock()
            try:
                return function(*args, **kwargs)
            finally:
                totals[stage] += clock() - started

        return wrapper

    def patch(owner: Any, name: str, stage: str) -> None:
        own = vars(owner)
        if name in own:
            original = own[name]
            undo.append(lambda: setattr(owner, name, original))
        else:  # inherited, or a method seen through an instance: drop the shadow again
            undo.append(lambda: delattr(owner, name))
        setattr(owner, name, timed(stage, getattr(owner, name)))

    patch(app, "parse_event", "parsing")
    patch(routes.ROUTER, "resolve", "routing")
    patch(models, "validate", "validation")  # the write routes import it on each call
    patch(routes, "_user_id_param", "validation")
    for method in ("get", "get_by_email", "list_page", "create", "update", "delete"):
        patch(services.store, method, "store")
    patch(routes, "json_response", "serialisation")
    patch(http.Response, "to_event", "serialisation")
    try:
        yield totals
    finally:
        for step in reversed(undo):
            step()


def _timed_requests(
    app: Any, services: Any, event: dict[str, Any], count: int, per_stage: dict[str, list[float]]
) -> None:
    """`count` requests with the layer timers on; each layer's microseconds per request."""
    clock = time.perf_counter_ns
    with stage_timers(app, services) as totals:
        for _ in range(count):
            for stage in STAGES:
                totals[stage] = 0
            started = clock()
            app.handler(event, None)
            elapsed = clock() - started
            for stage in STAGES:
                per_stage[stage].append(totals[stage] / 1e3)
            per_stage["other"].append((elapsed - sum(totals.values())) / 1e3)


def run_warm_child(fn: FunctionPython, iterations: int, warmup: int) -> dict[str, Any]:
    """measure_warm under the function's Python with the built package."""
    env = fn.env(
        PYTHONPATH=os.pathsep.join([*fn.pythonpath, str(REPO)]), PYTHONPYCACHEPREFIX=str(PYCACHE)
    )
    script = (
        f"import json, tools.bench as b; print(json.dumps(b.measure_warm({iterations}, {warmup})))"
    )
    result = subprocess.run(
        [fn.python, "-c", script], env=env, capture_output=True, text=True, check=False, cwd=REPO
    )
    if result.returncode != 0:
        tail = "\n".join(result.stderr.strip().splitlines()[-8:])
        raise RuntimeError(f"warm measurement failed:\n{tail}")
    figures: dict[str, Any] = json.loads(result.stdout.strip().splitlines()[-1])
    return figures


# --- DynamoDB round trips ------------------------------------------------------------------------


@dataclass(frozen=True)
class TripCase:
    label: str
    method: str
    path: str
    route_key: str
    minimum: int  # the fewest round trips the operation allows
    why: str = ""
    query: dict[str, str] | None = None
    body: Any = None


TRIP_CASES = [
    TripCase(
        "POST /users", "POST", "/users", "POST /users", 1, body={"user_id": "03", "name": "N"}
    ),
    TripCase(
        "POST /users (with email)",
        "POST",
        "/users",
        "POST /users",
        1,
        body={"user_id": "04", "name": "N", "email": "n@example.com"},
    ),
    TripCase("GET /users/{user_id}", "GET", "/users/01", "GET /users/{user_id}", 1),
    TripCase("GET /users?id=", "GET", "/users", "GET /users", 1, query={"id": "01"}),
    TripCase(
        "GET /users?email=", "GET", "/users", "GET /users", 1, query={"email": "joy@example.com"}
    ),
    TripCase("GET /users (list)", "GET", "/users", "GET /users", 1, query={"limit": "10"}),
    TripCase(
        "PUT /users/{user_id} (email kept)",
        "PUT",
        "/users/01",
        "PUT /users/{user_id}",
        1,
        body={"name": "J", "email": "joy@example.com"},
    ),
    TripCase(
        "PATCH /users/{user_id} (name)",
        "PATCH",
        "/users/01",
        "PATCH /users/{user_id}",
        1,
        body={"name": "Joy"},
    ),
    TripCase(
        "PUT /users/{user_id} (email changes)",
        "PUT",
        "/users/01",
        "PUT /users/{user_id}",
        2,
        "the old address must be read",
        body={"name": "J", "email": "new@example.com"},
    ),
    TripCase(
        "PATCH /users/{user_id} (email added)",
        "PATCH",
        "/users/02",
        "PATCH /users/{user_id}",
        2,
        "an old address is unknown until read",
        body={"email": "ann@example.com"},
    ),
    TripCase(
        "DELETE /users/{user_id} (no email)", "DELETE", "/users/05", "DELETE /users/{user_id}", 1
    ),
    TripCase(
        "DELETE /users/{user_id} (with email)",
        "DELETE",
        "/users/01",
        "DELETE /users/{user_id}",
        2,
        "its address must be read",
    ),
    TripCase("GET /hello", "GET", "/hello", "GET /hello", 0),
]


@contextlib.contextmanager
def patched_environ(values: dict[str, str], remove: tuple[str, ...] = ()) -> Iterator[None]:
    saved = dict(os.environ)
    os.environ.update(values)
    for key in remove:
        os.environ.pop(key, None)
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)


def count_round_trips(cases: list[TripCase] = TRIP_CASES) -> list[dict[str, Any]]:
    """The DynamoDB operations each case makes, against moto's mock_aws with the real tables."""
    if str(LAMBDA_SRC) not in sys.path:
        sys.path.insert(0, str(LAMBDA_SRC))
    with patched_environ({**SDK_ENV, **FUNCTION_ENV}, remove=("AWS_ENDPOINT_URL", "AWS_PROFILE")):
        import boto3
        from moto import mock_aws

        from tests.tables import create_tables

        with mock_aws():  # nested in a running mock_aws, it shares (and must not spoil) its state
            client = boto3.client("dynamodb")
            create_tables(client, USERS_TABLE, EMAILS_TABLE)
            app = _import_app()
            saved = app.SERVICES
            app.SERVICES = app.build_services()
            try:
                return _count(app, cases)
            finally:
                app.SERVICES = saved
                for table in (USERS_TABLE, EMAILS_TABLE):
                    client.delete_table(TableName=table)


def _count(app: Any, cases: list[TripCase]) -> list[dict[str, Any]]:
    made: list[str] = []
    client = app.SERVICES.store._client
    client.meta.events.register("before-call.dynamodb", lambda model, **_: made.append(model.name))
    seeds = [
        {"user_id": "01", "name": "Joy", "email": "joy@example.com"},
        {"user_id": "02", "name": "Ann"},
        {"user_id": "05", "name": "Eve"},
    ]
    for body in seeds:
        app.handler(make_event("POST", "/users", route_key="POST /users", body=body), None)
    results = []
    for case in cases:
        made.clear()
        params = {"user_id": case.path.rsplit("/", 1)[1]} if "{user_id}" in case.route_key else None
        event = make_event(
            case.method,
            case.path,
            route_key=case.route_key,
            path_params=params,
            query=case.query,
            body=case.body,
        )
        status = app.handler(event, None)["statusCode"]
        results.append(
            {
                "case": case.label,
                "status": status,
                "operations": list(made),
                "round_trips": len(made),
                "minimum": case.minimum,
                "why": case.why,
            }
        )
    return results


# --- package size --------------------------------------------------------------------------------


def package_size() -> dict[str, Any]:
    manifest = json.loads(MANIFEST.read_text())
    with tempfile.TemporaryDirectory(prefix="bench-") as tmp:
        zip_path = Path(tmp, "lambda.zip")
        build.write_zip(PACKAGE, zip_path)
        zipped = zip_path.stat().st_size
    return {"zipped_bytes": zipped, "unzipped_bytes": manifest["bytes"], "files": manifest["files"]}


# --- throughput through `make local`'s HTTP front -----------------------------------------------

MIX = (("get", 60), ("list", 10), ("create", 15), ("patch", 15))
SEED_USERS = 50


@dataclass
class LoadResult:
    latencies_ms: list[float] = field(default_factory=list)
    statuses: dict[str, int] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)


def _load_worker(
    host: str, port: int, index: int, deadline: float, result: LoadResult, lock: threading.Lock
) -> None:
    import http.client

    rng = random.Random(index)
    names = [name for name, _ in MIX]
    weights = [weight for _, weight in MIX]
    connection = http.client.HTTPConnection(host, port, timeout=30)
    latencies: list[float] = []
    statuses: dict[str, int] = {}
    errors: list[str] = []
    created = 0
    try:
        while time.monotonic() < deadline:
            kind = rng.choices(names, weights)[0]
            user = f"s{rng.randrange(SEED_USERS):03d}"
            body: str | None = None
            if kind == "get":
                method, path = "GET", f"/users/{user}"
            elif kind == "list":
                method, path = "GET", "/users?limit=10"
            elif kind == "create":
                created += 1
                method, path = "POST", "/users"
                new = f"w{index:02d}-{created:05d}"
                body = json.dumps({"user_id": new, "name": "Load", "email": f"{new}@example.com"})
            else:
                method, path = "PATCH", f"/users/{user}"
                body = json.dumps({"name": f"Name {rng.randrange(1000)}"})
            headers = {"Content-Type": "application/json"} if body else {}
            started = time.perf_counter()
            try:
                connection.request(method, path, body=body, headers=headers)
                response = connection.getresponse()
                response.read()
            except (OSError, http.client.HTTPException) as error:
                errors.append(f"{type(error).__name__}: {error}")
                connection.close()
                continue
            latencies.append((time.perf_counter() - started) * 1e3)
            key = f"{kind} {response.status}"
            statuses[key] = statuses.get(key, 0) + 1
    finally:
        connection.close()
    with lock:
        result.latencies_ms += latencies
        for key, count in statuses.items():
            result.statuses[key] = result.statuses.get(key, 0) + count
        result.errors += errors


def _phase(host: str, port: int, seconds: float, concurrency: int, first_worker: int) -> LoadResult:
    result = LoadResult()
    lock = threading.Lock()
    deadline = time.monotonic() + seconds
    threads = [
        threading.Thread(target=_load_worker, args=(host, port, i, deadline, result, lock))
        for i in range(first_worker, first_worker + concurrency)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return result


def run_load(url: str, seconds: float, concurrency: int, warmup_s: float = 3.0) -> dict[str, Any]:
    """`concurrency` threads sending the MIX for `seconds`; rate, latency percentiles, statuses."""
    import http.client
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    host, port = parts.hostname or "127.0.0.1", parts.port or 80
    seeder = http.client.HTTPConnection(host, port, timeout=30)
    for n in range(SEED_USERS):
        body = json.dumps({"user_id": f"s{n:03d}", "name": "Seed", "email": f"s{n}@example.com"})
        seeder.request("POST", "/users", body=body, headers={"Content-Type": "application/json"})
        response = seeder.getresponse()
        response.read()
        if response.status != 201:
            raise RuntimeError(f"seeding users failed: POST /users answered {response.status}")
    seeder.close()
    # A warm-up phase brings the function's pool up to its workers (each a cold start).
    _phase(host, port, warmup_s, concurrency, first_worker=concurrency)
    started = time.monotonic()
    result = _phase(host, port, seconds, concurrency, first_worker=0)
    elapsed = time.monotonic() - started
    count = len(result.latencies_ms)
    ok = sum(n for key, n in result.statuses.items() if key.split()[1].startswith("2"))
    return {
        "seconds": elapsed,
        "concurrency": concurrency,
        "mix": dict(MIX),
        "requests": count,
        "ok": ok,
        "requests_per_s": count / elapsed if elapsed else 0.0,
        "p50_ms": statistics.median(result.latencies_ms) if count else None,
        "p99_ms": percentile(result.latencies_ms, 0.99) if count else None,
        "statuses": dict(sorted(result.statuses.items())),
        "errors": len(result.errors),
        "first_errors": result.errors[:3],
    }


def measure_local(seconds: float, concurrency: int) -> dict[str, Any]:
    """Start the emulator, apply the Terraform, serve it with the local gateway, load it, stop."""
    from tools.emulator import Emulator, free_port
    from tools.gateway import start_gateway
    from tools.stage import Stack

    emulator = Emulator(port=free_port(), log_path=LOCAL_DIR / "bench-emulator.log")
    stack: Stack | None = None
    gateway = None
    started = time.monotonic()
    with open(os.devnull, "w") as sink:
        try:
            emulator.start()
            stack = Stack(emulator.endpoint, name="bench")
            stack.remove()  # a fresh emulator holds nothing: any old state is stale
            stack.apply({})
            gateway = start_gateway(
                endpoint_url=emulator.endpoint,
                package_zip=stack.zip_path,
                cache_dir=LOCAL_DIR / "runtime",
                port=free_port(),
                log=sink,
            )
            setup_s = time.monotonic() - started
            progress(f"local stack up in {setup_s:.0f}s; {seconds:.0f}s of load at c={concurrency}")
            figures = run_load(gateway.url, seconds, concurrency)
            figures["setup_s"] = setup_s
            figures["workers"] = max((p.size for p in gateway.gateway.pools.values()), default=0)
            figures["interpreter"] = str(gateway.interpreter.version)
            return figures
        finally:
            if gateway is not None:
                gateway.close()
            emulator.stop()  # holds everything a destroy would remove
            if stack is not None:
                stack.remove()


# --- the run -------------------------------------------------------------------------------------


def _section(report: Report, name: str, step: Callable[[], None]) -> None:
    """Run one measure; a failure becomes an error row and the bench carries on."""
    progress(name)
    started = time.monotonic()
    try:
        step()
    except Exception as error:
        reason = str(error).strip().splitlines()[-1] if str(error).strip() else ""
        report.add(name, f"not measured: {type(error).__name__}: {reason}"[:160], "", "error")
        report.figures.setdefault("errors", {})[name] = f"{type(error).__name__}: {error}"
    report.figures.setdefault("seconds", {})[name] = round(time.monotonic() - started, 1)


def cold_rows(report: Report, fn: FunctionPython, pairs: int, shipped_pairs: int) -> None:
    with stub_dynamodb() as endpoint:
        cold = measure_cold_start(fn, endpoint, pairs)
        report.figures["cold_start"] = cold
        report.add(
            f"cold start: import + first request vs floor ({pairs} rounds, median CPU ms)",
            f"{cold['handler_ms']:.0f} ms vs {cold['floor_ms']:.0f} ms = {cold['ratio']:.2f}x "
            f"(per round {cold['ratio_per_round_median']:.2f}x; wall {cold['wall_ratio']:.2f}x; "
            f"first request {cold['first_request_wall_ms']:.0f} ms)",
            f"<= {COLD_RATIO_TARGET:.2f}x",
            passed(cold["ratio"] <= COLD_RATIO_TARGET),
        )
        report.add(
            "  first request a write (POST /users: imports pydantic, builds the models)",
            f"{cold['write_first_ms']:.0f} ms vs {cold['floor_ms']:.0f} ms = "
            f"{cold['write_first_ratio']:.2f}x",
        )
        report.add(
            "  vs floor+ (+ one model with a Field, + one GetItem)",
            f"{cold['handler_ms']:.0f} ms vs {cold['floor_plus_ms']:.0f} ms = "
            f"{cold['ratio_to_floor_plus']:.2f}x",
        )
        profile = import_profile(fn, endpoint)
        report.figures["import_profile"] = profile
        ours = ", ".join(
            f"{e['module'].removeprefix('users_api.')} {e['self_ms']:.0f}"
            for e in profile["ours"][:4]
        )
        others = ", ".join(f"{e['module']} {e['self_ms']:.0f}" for e in profile["others"][:3])
        report.add(
            "  -X importtime beyond the floor, self ms",
            f"{profile['beyond_floor_ms']:.0f} in all; ours: {ours}; pulled in: {others}",
        )
        if shipped_pairs:
            shipped = measure_cold_start(fn, endpoint, shipped_pairs, bytecode=False)
            report.figures["cold_start_no_bytecode"] = shipped
            report.add(
                f"cold start, package without .pyc as zipped ({shipped_pairs} rounds, CPU)",
                f"{shipped['handler_ms']:.0f} ms vs {shipped['floor_ms']:.0f} ms = "
                f"{shipped['ratio']:.2f}x; first request a write: "
                f"{shipped['write_first_ms']:.0f} ms = {shipped['write_first_ratio']:.2f}x",
            )


def warm_rows(report: Report, fn: FunctionPython, iterations: int, warmup: int) -> None:
    warm = run_warm_child(fn, iterations, warmup)
    report.figures["warm"] = warm
    for name, route in warm["routes"].items():
        report.add(
            f"warm overhead: {name} (p50 / p99, {iterations} runs)",
            f"{route['p50_us']:.0f} / {route['p99_us']:.0f} us",
            f"p50 <= {WARM_P50_TARGET_US:.0f} us",
            passed(route["p50_us"] <= WARM_P50_TARGET_US),
        )
    for name, route in warm["routes"].items():
        stages = route["stages_us"]
        split = " / ".join(f"{stage} {us:.0f}" for stage, us in stages.items())
        report.add(
            f"  {name}: median us per layer (timed pass, {sum(stages.values()):.0f} in all)", split
        )


def trip_rows(report: Report) -> None:
    trips = count_round_trips()
    report.figures["round_trips"] = trips
    for trip in trips:
        ops = "+".join(trip["operations"]) or "none"
        minimum = trip["minimum"]
        target = str(minimum) if minimum != 2 else f"2 ({trip['why']})"
        if trip["status"] >= 300:
            report.add(f"round trips: {trip['case']}", f"answered {trip['status']}", target, "FAIL")
            continue
        report.add(
            f"round trips: {trip['case']}",
            f"{trip['round_trips']} ({ops})",
            target,
            passed(trip["round_trips"] <= minimum),
        )


def package_rows(report: Report) -> None:
    size = package_size()
    report.figures["package"] = size
    report.add(
        "package size zipped (unzipped, files)",
        f"{size['zipped_bytes'] / 2**20:.2f} MB ({size['unzipped_bytes'] / 2**20:.2f} MB, "
        f"{size['files']} files)",
        f"<= {ZIP_TARGET_BYTES / 2**20:.0f} MB",
        passed(size["zipped_bytes"] <= ZIP_TARGET_BYTES),
    )


def local_rows(report: Report, seconds: float, concurrency: int) -> None:
    local = measure_local(seconds, concurrency)
    report.figures["local"] = local
    if not local["requests"]:
        raise RuntimeError(f"no request was answered: {local['first_errors']}")
    failed = local["requests"] - local["ok"]
    report.add(
        f"make local front: mixed load, c={concurrency}, {local['seconds']:.0f} s",
        f"{local['requests_per_s']:.0f} req/s, p50 {local['p50_ms']:.0f} ms, "
        f"p99 {local['p99_ms']:.0f} ms ({local['requests']} requests, {failed} non-2xx, "
        f"{local['errors']} errors)",
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Measure the function (make bench).")
    parser.add_argument(
        "--pairs", type=int, default=30, help="cold-start rounds (floor, handler, floor+)"
    )
    parser.add_argument(
        "--shipped-pairs", type=int, default=4, help="rounds without the package's bytecode"
    )
    parser.add_argument("--iterations", type=int, default=5000, help="warm requests per route")
    parser.add_argument("--warmup", type=int, default=500)
    parser.add_argument("--load-seconds", type=float, default=10.0)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--skip-local", action="store_true", help="no make-local throughput run")
    parser.add_argument("--json", type=Path, default=REPO / "bench.json")
    parser.add_argument("--markdown", type=Path, help="also write the table as markdown here")
    args = parser.parse_args(argv)

    if not MANIFEST.is_file() or not PACKAGE.is_dir():
        print("bench: error: the package is not built: run make build (make bench does it)")
        return 1
    started = time.monotonic()
    load_start = list(os.getloadavg())
    fn = function_python()
    machine = (
        f"{os.cpu_count()} CPUs {platform.machine()}, function on Python "
        f"{platform_version(fn.python)}"
    )
    report = Report(datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"), machine)
    if fn.fallback:
        report.notes.append(fn.fallback)
    report.notes.append(
        "cold start: DynamoDB answered by a canned-response HTTP stub on loopback "
        "(AWS_ENDPOINT_URL); warm: the store's client replaced by an in-process fake"
    )
    _section(report, "cold start", lambda: cold_rows(report, fn, args.pairs, args.shipped_pairs))
    _section(report, "warm overhead", lambda: warm_rows(report, fn, args.iterations, args.warmup))
    _section(report, "round trips", lambda: trip_rows(report))
    _section(report, "package size", lambda: package_rows(report))
    if args.skip_local:
        report.add("make local front", "skipped (--skip-local)")
    else:
        _section(
            report,
            "make local throughput",
            lambda: local_rows(report, args.load_seconds, args.concurrency),
        )
    report.figures["elapsed_s"] = round(time.monotonic() - started, 1)
    report.figures["load_average"] = {"start": load_start, "end": list(os.getloadavg())}
    report.notes.append(
        f"load average {load_start[0]:.1f} at the start, {os.getloadavg()[0]:.1f} at the end "
        f"(other work on this machine shows in wall-clock figures)"
    )
    document = {
        "date": report.started,
        "machine": report.machine,
        "interpreter": {"python": fn.python, "version": fn.version, "fallback": fn.fallback},
        "rows": [asdict(row) for row in report.rows],
        "notes": report.notes,
        **report.figures,
    }
    args.json.write_text(json.dumps(document, indent=2) + "\n")
    if args.markdown:
        args.markdown.write_text(render_markdown(report))
    print(render_text(report))
    print(f"(figures in {args.json.name}; {report.figures['elapsed_s']:.0f}s)")
    return 0


def platform_version(python: str) -> str:
    result = subprocess.run(
        [python, "-c", "import platform; print(platform.python_version())"],
        capture_output=True,
        text=True,
        check=False,
    )
    return result.stdout.strip() or "?"


if __name__ == "__main__":
    sys.exit(main())
