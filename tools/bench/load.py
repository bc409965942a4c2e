"""`make local` throughput (information): the emulator, terraform apply and the local API Gateway
on free ports, a mixed load from `concurrency` threads for `seconds`, then everything torn down."""

from __future__ import annotations

import json
import os
import random
import statistics
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from tools.bench.report import percentile, progress
from tools.localaws.stage import LOCAL_DIR

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
    from tools.localaws.emulator import Emulator, free_port
    from tools.localaws.gateway import start_gateway
    from tools.localaws.stage import Stack

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
