"""Warm overhead: the handler in-process with the store's client answering at once, so all that is
timed is our code (and a Python method call per AWS call); p50/p99 per route.

Run under the function's Python by the bench: `python -m tools.bench.warm ITERATIONS WARMUP`
prints the figures as one JSON line (PYTHONPATH = the package, the runtime's SDK, the repository).
"""

from __future__ import annotations

import json
import os
import statistics
import sys
import threading
import time
from typing import Any

from tools.bench.cases import FUNCTION_ENV, SDK_ENV, USER_ITEM, WARM_EVENTS, user_item
from tools.bench.report import percentile


class FakeDynamoDB:
    """Answers the store's calls with canned items at once, and counts them (thread-safe: the
    list route queries its shards from a pool)."""

    def __init__(self) -> None:
        self.calls = 0
        self._lock = threading.Lock()

    def _answer(self, response: dict[str, Any]) -> dict[str, Any]:
        with self._lock:
            self.calls += 1
        return response

    def get_item(self, **_: Any) -> dict[str, Any]:
        return self._answer({"Item": USER_ITEM})

    def put_item(self, **_: Any) -> dict[str, Any]:
        return self._answer({})

    def transact_write_items(self, **_: Any) -> dict[str, Any]:
        return self._answer({})

    def update_item(self, **_: Any) -> dict[str, Any]:
        return self._answer({"Attributes": USER_ITEM})

    def delete_item(self, **_: Any) -> dict[str, Any]:
        return self._answer({})

    def query(self, **kwargs: Any) -> dict[str, Any]:
        """A shard's newest keys (the list index holds keys only)."""
        shard = kwargs["ExpressionAttributeValues"][":shard"]["S"]
        keys = ("user_id", "list_shard", "created_key")
        items = [
            {key: user_item(f"u-{shard}{n:03d}")[key] for key in keys}
            for n in range(int(kwargs.get("Limit", 10)))
        ]
        return self._answer({"Items": items, "Count": len(items)})

    def batch_get_item(self, **kwargs: Any) -> dict[str, Any]:
        [(table, request)] = kwargs["RequestItems"].items()
        items = [user_item(key["user_id"]["S"]) for key in request["Keys"]]
        return self._answer({"Responses": {table: items}})


def measure_warm(iterations: int = 5000, warmup: int = 500) -> dict[str, Any]:
    """p50/p99 (microseconds) of the handler per route with a FakeDynamoDB behind the store.

    `users_api.app`'s SERVICES are swapped for ones whose store calls the fake, and restored.
    """
    for key, value in {**SDK_ENV, **FUNCTION_ENV}.items():
        os.environ.setdefault(key, value)
    from users_api import app

    fake = FakeDynamoDB()
    services = app.build_services()
    services.db.client = fake  # type: ignore[assignment]
    saved = app.SERVICES
    app.SERVICES = services
    clock = time.perf_counter_ns
    routes: dict[str, Any] = {}
    try:
        for name, event in WARM_EVENTS.items():
            response = app.handler(event, None)
            if response["statusCode"] >= 300:
                raise RuntimeError(f"{name}: {response['statusCode']} {response['body']}")
            for _ in range(warmup):
                app.handler(event, None)
            calls_before = fake.calls
            samples = []
            for _ in range(iterations):
                started = clock()
                app.handler(event, None)
                samples.append((clock() - started) / 1e3)
            routes[name] = {
                "p50_us": statistics.median(samples),
                "p99_us": percentile(samples, 0.99),
                "aws_calls_per_request": (fake.calls - calls_before) / iterations,
            }
    finally:
        app.SERVICES = saved
    return {"iterations": iterations, "warmup": warmup, "routes": routes}


if __name__ == "__main__":
    print(json.dumps(measure_warm(int(sys.argv[1]), int(sys.argv[2]))))
