"""The one counter of DynamoDB round trips, for the bench (tools/bench) and the unit tests.

    from tools.roundtrips import counting_calls

    with counting_calls(client) as calls:
        app.handler(event, None)
    assert calls == ["GetItem"]

It registers a `before-call.dynamodb` hook on that client, which botocore fires once per API call
(retries of a call are not counted again), and records each operation's name in order. The hook is
removed on exit, so a client shared across tests is left as it was.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

EVENT = "before-call.dynamodb"


@contextlib.contextmanager
def counting_calls(client: Any) -> Iterator[list[str]]:
    """Yield the list of DynamoDB operation names `client` calls while the block runs."""
    service = client.meta.service_model.service_name
    if service != "dynamodb":
        raise ValueError(f"counting_calls counts DynamoDB calls, not {service} ones")
    calls: list[str] = []

    def record(model: Any, **_: Any) -> None:
        calls.append(model.name)

    client.meta.events.register(EVENT, record)
    try:
        yield calls
    finally:
        client.meta.events.unregister(EVENT, record)
