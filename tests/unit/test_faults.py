"""Faults AWS produces and moto never does, injected at the SDK boundary, for every route.

The handler's DynamoDB client keeps its real retry handler (standard mode, up to 4 attempts) and
the function's deadline hooks; only its transport changes: moto's `before-send` stubber is
replaced by `Network`, which hands each attempt to moto unless the test's fault plan says
otherwise — answer with DynamoDB's error instead (nothing applied), apply it and then lose the
answer (a read timeout or a 500 after the write happened), or hang until the read timeout.
Time is a fake clock (`Clock`): the SDK's back-off sleeps, the store's back-off and the deadline
all read it, so nothing here sleeps and nothing depends on the machine's speed.

Each case asserts the status, the one error shape (no stack trace), and the tables: unchanged
after a failure; after a recovered fault, exactly what the same request leaves without the
fault (same answer, version bumped once); and always consistent (no user without its email
record or the reverse, index keys in place).

moto ignores `ClientRequestToken`; DynamoDB answers a repeated TransactWriteItems with an
already-applied token with success and applies nothing (for 10 minutes). `Network` does the
same, so a lost transaction answer is retried as it would be on AWS.
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any

import botocore.endpoint
import pytest
from botocore.awsrequest import AWSPreparedRequest, AWSResponse
from botocore.exceptions import EndpointConnectionError, ReadTimeoutError
from moto.core.models import botocore_stubber

from tests.unit.conftest import (
    EMAILS_TABLE,
    IDEMPOTENCY_TABLE,
    USERS_TABLE,
    make_event,
    stored_emails,
    stored_users,
)
from users_api import deadline, dynamo
from users_api.users import listing, model

WRITES = frozenset({"PutItem", "UpdateItem", "DeleteItem", "TransactWriteItems"})
SDK_ATTEMPTS = 4  # app._CLIENT_CONFIG: standard mode, max_attempts 3 retries after the first
ATTEMPT_S = 3.0  # the longest one attempt can take: connect (1 s) + read (2 s) timeouts
TIMESTAMP = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z")


# -- time -------------------------------------------------------------------------------------


class Clock:
    """Fake monotonic time: sleeping advances it; a slow attempt moves it to when it ends."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.sleeps: list[tuple[float, float]] = []  # (when, seconds)
        self._lock = threading.Lock()

    def monotonic(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        with self._lock:
            self.sleeps.append((self.now, seconds))
            self.now += seconds

    def run_until(self, moment: float) -> None:
        with self._lock:
            self.now = max(self.now, moment)


@dataclass
class LambdaContext:
    """The Lambda context's clock-reading part, on the fake clock."""

    clock: Clock
    timeout_at: float
    aws_request_id: str = "lambda-req-1"

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self.timeout_at - self.clock.now) * 1000))


# -- the transport ----------------------------------------------------------------------------


class _Raw:
    def __init__(self, body: bytes) -> None:
        self._body = body

    def stream(self, **_: Any) -> Iterator[bytes]:
        yield self._body


def dynamodb_error(
    request: AWSPreparedRequest, status: int, code: str, reasons: list[str] | None = None
) -> AWSResponse:
    """DynamoDB's JSON error response (as botocore parses it: `__type` names the code)."""
    body: dict[str, Any] = {
        "__type": f"com.amazonaws.dynamodb.v20120810#{code}",
        "message": f"injected {code}",
    }
    if reasons is not None:
        body["CancellationReasons"] = [{"Code": reason} for reason in reasons]
    headers = {"Content-Type": "application/x-amz-json-1.0", "x-amzn-RequestId": "FAULT"}
    return AWSResponse(request.url, status, headers, _Raw(json.dumps(body).encode()))


@dataclass
class Attempt:
    """One HTTP attempt the SDK makes: `number` counts this operation's attempts in the test."""

    operation: str
    number: int
    body: dict[str, Any]
    request: AWSPreparedRequest
    deliver: Callable[[], AWSResponse]
    clock: Clock


Fault = Callable[[Attempt], AWSResponse]


class Network:
    """The handler client's transport: moto, behind a fault plan per operation."""

    def __init__(self, clock: Clock) -> None:
        self.clock = clock
        self.faults: dict[str, Fault] = {}
        self.attempts: list[str] = []
        self.delivered: list[str] = []
        self._applied_tokens: set[str] = set()
        self._lock = threading.Lock()

    def reset(self, faults: dict[str, Fault] | None = None) -> None:
        with self._lock:
            self.faults = dict(faults or {})
            self.attempts.clear()
            self.delivered.clear()

    def __call__(
        self, request: AWSPreparedRequest, event_name: str, **_: Any
    ) -> AWSResponse | None:
        operation = event_name.rsplit(".", 1)[-1]
        body = json.loads(request.body or b"{}")
        with self._lock:
            self.attempts.append(operation)
            number = self.attempts.count(operation)
        attempt = Attempt(
            operation,
            number,
            body,
            request,
            lambda: self._deliver(operation, body, request, event_name),
            self.clock,
        )
        fault = self.faults.get(operation)
        return fault(attempt) if fault else attempt.deliver()

    def _deliver(
        self, operation: str, body: dict[str, Any], request: AWSPreparedRequest, event_name: str
    ) -> AWSResponse:
        token = body.get("ClientRequestToken") if operation == "TransactWriteItems" else None
        if token is not None and token in self._applied_tokens:
            # DynamoDB: a repeated token of an applied transaction succeeds, applying nothing.
            headers = {"Content-Type": "application/x-amz-json-1.0"}
            return AWSResponse(request.url, 200, headers, _Raw(b"{}"))
        response = botocore_stubber(event_name=event_name, request=request)
        assert response is not None, f"moto did not answer {operation}"
        with self._lock:
            self.delivered.append(operation)
            if token is not None and response.status_code == 200:
                self._applied_tokens.add(token)
        return response


# -- fault kinds ------------------------------------------------------------------------------


def reply(status: int, code: str, *, times: int | None = None) -> Fault:
    """Every attempt (or the first `times`) is answered with DynamoDB's `code`; nothing applies."""

    def fault(attempt: Attempt) -> AWSResponse:
        if times is not None and attempt.number > times:
            return attempt.deliver()
        return dynamodb_error(attempt.request, status, code)

    return fault


def cancelled(reason: str, *, times: int | None = None) -> Fault:
    """TransactWriteItems cancelled with `reason` on its first item (the rest `None`)."""

    def fault(attempt: Attempt) -> AWSResponse:
        if times is not None and attempt.number > times:
            return attempt.deliver()
        count = len(attempt.body["TransactItems"])
        reasons = [reason] + ["None"] * (count - 1)
        return dynamodb_error(attempt.request, 400, "TransactionCanceledException", reasons)

    return fault


def conflict(*, times: int | None = None) -> Fault:
    """What DynamoDB answers a write on an item an in-flight transaction holds."""
    single = reply(400, "TransactionConflictException", times=times)
    transaction = cancelled("TransactionConflict", times=times)

    def fault(attempt: Attempt) -> AWSResponse:
        return (transaction if attempt.operation == "TransactWriteItems" else single)(attempt)

    return fault


def applied_then_lost(how: str) -> Fault:
    """The first attempt applies; its answer is lost (a read timeout, or a 500 after the write);
    the SDK retries."""

    def fault(attempt: Attempt) -> AWSResponse:
        response = attempt.deliver()  # applied (or refused by its condition: lost all the same)
        if attempt.number > 1:
            return response
        if how == "timeout":
            raise ReadTimeoutError(endpoint_url=attempt.request.url)
        return dynamodb_error(attempt.request, 500, "InternalServerError")

    return fault


def unreachable(attempt: Attempt) -> AWSResponse:
    raise EndpointConnectionError(endpoint_url=attempt.request.url)


def hangs(attempt: Attempt) -> AWSResponse:
    """The attempt hangs until the client's timeouts give up on it; nothing applies."""
    attempt.clock.run_until(attempt.clock.now + ATTEMPT_S)
    raise ReadTimeoutError(endpoint_url=attempt.request.url)


# (fault, the operations it applies to, the outcome)
UNAVAILABLE, CONCURRENT, AS_WITHOUT_FAULT = "503 unavailable", "409 concurrent_update", "same"
ANY = frozenset(
    {
        "GetItem",
        "Query",
        "BatchGetItem",
        "PutItem",
        "UpdateItem",
        "DeleteItem",
        "TransactWriteItems",
    }
)
FAULT_KINDS: dict[str, tuple[Fault, frozenset[str], str]] = {
    "ProvisionedThroughputExceeded": (
        reply(400, "ProvisionedThroughputExceededException"),
        ANY,
        UNAVAILABLE,
    ),
    "ThrottlingException": (reply(400, "ThrottlingException"), ANY, UNAVAILABLE),
    "InternalServerError": (reply(500, "InternalServerError"), ANY, UNAVAILABLE),
    "unreachable": (unreachable, ANY, UNAVAILABLE),
    "ThrottlingError-reason": (
        cancelled("ThrottlingError"),
        frozenset({"TransactWriteItems"}),
        UNAVAILABLE,
    ),
    "conflict-clears": (conflict(times=2), WRITES, AS_WITHOUT_FAULT),
    "conflict-persists": (conflict(), WRITES, CONCURRENT),
    "lost-answer-timeout": (applied_then_lost("timeout"), ANY, AS_WITHOUT_FAULT),
    "lost-answer-500": (applied_then_lost("500"), ANY, AS_WITHOUT_FAULT),
}


# -- the routes -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Route:
    """A request against the seeded tables, the DynamoDB operations it makes, its answer."""

    method: str
    path: str
    operations: tuple[str, ...]
    status: int
    body: dict[str, Any] | None = None
    headers: dict[str, str] = field(default_factory=dict)
    query: str | None = None


SEED = [
    {"user_id": "ann", "name": "Ann", "email": "ann@example.com"},
    {"user_id": "bob", "name": "Bob"},
    {"user_id": "cy", "name": "Cy", "email": "cy@example.com"},
]
IF_MATCH_1 = {"If-Match": '"1"'}

ROUTES: dict[str, Route] = {
    "create": Route("POST", "/users", ("PutItem",), 201, {"user_id": "new", "name": "Nia"}),
    "create+email": Route(
        "POST",
        "/users",
        ("TransactWriteItems",),
        201,
        {"user_id": "new", "name": "Nia", "email": "nia@example.com"},
    ),
    "create+idempotency-key": Route(
        "POST",
        "/users",
        ("PutItem", "TransactWriteItems"),
        201,
        {"user_id": "new", "name": "Nia"},
        {"Idempotency-Key": "key-1"},
    ),
    "put-same-email": Route(
        "PUT", "/users/ann", ("UpdateItem",), 200, {"name": "Ann B", "email": "ann@example.com"}
    ),
    "put-same-email+if-match": Route(
        "PUT",
        "/users/ann",
        ("UpdateItem",),
        200,
        {"name": "Ann B", "email": "ann@example.com"},
        IF_MATCH_1,
    ),
    "put-new-email": Route(
        "PUT",
        "/users/ann",
        ("UpdateItem", "TransactWriteItems"),
        200,
        {"name": "Ann B", "email": "ann.b@example.com"},
    ),
    "put-new-email+if-match": Route(
        "PUT",
        "/users/ann",
        ("UpdateItem", "TransactWriteItems"),
        200,
        {"name": "Ann B", "email": "ann.b@example.com"},
        IF_MATCH_1,
    ),
    "patch-name": Route("PATCH", "/users/ann", ("UpdateItem",), 200, {"name": "Ann C"}),
    "patch-email": Route(
        "PATCH", "/users/bob", ("UpdateItem", "TransactWriteItems"), 200, {"email": "b@example.com"}
    ),
    "patch-empty": Route("PATCH", "/users/ann", ("GetItem",), 200, {}),
    "delete": Route("DELETE", "/users/bob", ("DeleteItem",), 204),
    "delete+if-match": Route("DELETE", "/users/bob", ("DeleteItem",), 204, headers=IF_MATCH_1),
    "delete+email": Route("DELETE", "/users/ann", ("DeleteItem", "TransactWriteItems"), 204),
    "delete+email+if-match": Route(
        "DELETE", "/users/ann", ("DeleteItem", "TransactWriteItems"), 204, headers=IF_MATCH_1
    ),
    "get": Route("GET", "/users/ann", ("GetItem",), 200),
    "get?id": Route("GET", "/users", ("GetItem",), 200, query="id=ann"),
    "get?email": Route("GET", "/users", ("GetItem",), 200, query="email=ann%40example.com"),
    "list": Route("GET", "/users", ("Query", "BatchGetItem"), 200, query="limit=2"),
}

CASES = [
    pytest.param(route, kind, operation, id=f"{kind}-{route}-{operation}")
    for route, spec in ROUTES.items()
    for kind, (_, applies_to, _) in FAULT_KINDS.items()
    for operation in dict.fromkeys(spec.operations)
    if operation in applies_to
]


# -- fixtures and helpers ---------------------------------------------------------------------


@dataclass
class Rig:
    app: Any
    dynamodb: Any
    network: Network
    clock: Clock

    def send(self, route: Route, context: Any = None) -> tuple[int, dict[str, str], str]:
        event = make_event(
            route.method,
            route.path,
            body=route.body,
            headers=route.headers,
            query=route.query,
            request_id="req-fault",
        )
        response = self.app.handler(event, context)
        return response["statusCode"], response["headers"], response["body"]

    def reseed(self) -> dict[str, Any]:
        """Empty the tables, put back the seed users, return the tables' state.

        The seed is created through the handler once; later tests restore its items directly.
        """
        for table, key in (
            (USERS_TABLE, "user_id"),
            (EMAILS_TABLE, "email"),
            (IDEMPOTENCY_TABLE, "idempotency_key"),
        ):
            for item in self.dynamodb.scan(TableName=table)["Items"]:
                self.dynamodb.delete_item(TableName=table, Key={key: item[key]})
        if not _SEEDED:
            for user in SEED:
                created = self.app.handler(make_event("POST", "/users", body=user), None)
                assert created["statusCode"] == 201, created
            _SEEDED.update(self.tables())
        else:
            for table, items in _SEEDED.items():
                for text in items:
                    self.dynamodb.put_item(TableName=table, Item=json.loads(text))
        self.network.reset()
        return self.tables()

    def tables(self) -> dict[str, Any]:
        return {
            table: sorted(
                json.dumps(item, sort_keys=True)
                for item in self.dynamodb.scan(TableName=table)["Items"]
            )
            for table in (USERS_TABLE, EMAILS_TABLE, IDEMPOTENCY_TABLE)
        }


_SEEDED: dict[str, Any] = {}


@pytest.fixture
def rig(app: Any, dynamodb: Any, monkeypatch: pytest.MonkeyPatch) -> Rig:
    clock = Clock()
    monkeypatch.setattr(deadline, "time", SimpleNamespace(monotonic=clock.monotonic))
    monkeypatch.setattr(dynamo, "time", SimpleNamespace(sleep=clock.sleep))
    monkeypatch.setattr(botocore.endpoint, "time", SimpleNamespace(sleep=clock.sleep))
    network = Network(clock)
    events = app.SERVICES.db.client.meta.events
    events.unregister("before-send", botocore_stubber)
    events.register("before-send", network)
    return Rig(app, dynamodb, network, clock)


def normalised(state: dict[str, Any]) -> dict[str, Any]:
    """Tables without what differs between two runs of one request: times and request tokens."""
    result = {}
    for table, items in state.items():
        cleaned = []
        for text in items:
            item = json.loads(text)
            item.pop(dynamo.TOKEN_KEY, None)
            for volatile in ("expires_at", "lease_until"):
                item.pop(volatile, None)
            cleaned.append(TIMESTAMP.sub("<time>", json.dumps(item, sort_keys=True)))
        result[table] = sorted(cleaned)
    return result


def assert_consistent(dynamodb: Any) -> None:
    """No partial write: each user's email has its record and each record its user."""
    users = stored_users(dynamodb)
    held = {item["email"]["S"]: uid for uid, item in users.items() if "email" in item}
    assert stored_emails(dynamodb) == held
    for user_id, item in users.items():
        assert item[model.SHARD_KEY]["S"] == listing.shard_of(user_id)
        assert item[model.CREATED_KEY]["S"] == f"{item['created_at']['S']}#{user_id}"
    states = [item["state"]["S"] for item in dynamodb.scan(TableName=IDEMPOTENCY_TABLE)["Items"]]
    assert "in_flight" not in states  # a failed create gives its key back


def assert_error(status: int, headers: dict[str, str], text: str, code: str) -> None:
    body = json.loads(text)
    assert set(body) == {"error", "code"}, body
    assert body["code"] == code
    assert "Traceback" not in text
    assert "botocore" not in text
    assert headers["Retry-After"] == "1"
    assert headers["Content-Type"] == "application/json"


def answer(text: str) -> Any:
    """A response body without what differs between two runs (times, the page token's bytes)."""
    if not text:
        return None
    body = json.loads(TIMESTAMP.sub("<time>", text))
    if isinstance(body, dict) and body.get("next_token"):
        body["next_token"] = "<token>"
    return body


@dataclass(frozen=True)
class Baseline:
    answer: tuple[int, Any, str | None]
    tables: dict[str, Any]


_BASELINES: dict[str, Baseline] = {}


def baseline(rig: Rig, route_name: str) -> Baseline:
    """What the route answers and leaves in the seeded tables without a fault (computed once)."""
    if route_name not in _BASELINES:
        route = ROUTES[route_name]
        rig.reseed()
        status, headers, text = rig.send(route)
        assert status == route.status, text
        assert set(rig.network.attempts) == set(route.operations)  # the route makes these calls
        assert rig.network.attempts == rig.network.delivered
        _BASELINES[route_name] = Baseline(
            (status, answer(text), headers.get("ETag")), normalised(rig.tables())
        )
    return _BASELINES[route_name]


# -- the matrix -------------------------------------------------------------------------------


@pytest.mark.parametrize(("route_name", "kind", "operation"), CASES)
def test_fault_on_route(rig: Rig, route_name: str, kind: str, operation: str) -> None:
    route = ROUTES[route_name]
    fault, _, outcome = FAULT_KINDS[kind]

    expected = baseline(rig, route_name)
    seeded = rig.reseed()
    rig.network.reset({operation: fault})
    status, headers, text = rig.send(route)

    assert operation in rig.network.attempts, "the fault was never reached"
    assert_consistent(rig.dynamodb)
    if outcome == AS_WITHOUT_FAULT:
        assert (status, answer(text), headers.get("ETag")) == expected.answer
        assert normalised(rig.tables()) == expected.tables  # applied exactly once
    else:
        error = (503, "unavailable") if outcome == UNAVAILABLE else (409, "concurrent_update")
        assert status == error[0], text
        assert_error(status, headers, text, error[1])
        assert rig.tables() == seeded  # nothing written, nothing lost
    if kind in {"ProvisionedThroughputExceeded", "ThrottlingException", "InternalServerError"}:
        # The SDK retried before giving up (at least twice; a third time when its back-off fits
        # in the deadline): the 503 comes after its retries, not instead of them.
        assert rig.network.attempts.count(operation) >= SDK_ATTEMPTS - 1


def test_matrix_covers_every_route_and_fault_kind() -> None:
    routes = {param.values[0] for param in CASES}
    kinds = {param.values[1] for param in CASES}
    assert routes == set(ROUTES)
    assert kinds == set(FAULT_KINDS)
    print(f"\nfault cases: {len(CASES)} ({len(FAULT_KINDS)} fault kinds x {len(ROUTES)} routes)")


# -- the deadline -----------------------------------------------------------------------------

DEADLINE_ROUTES = [pytest.param(name, id=name) for name in ROUTES]


@pytest.mark.parametrize("route_name", DEADLINE_ROUTES)
def test_no_time_left_is_503_before_any_call(rig: Rig, route_name: str) -> None:
    route = ROUTES[route_name]
    seeded = rig.reseed()
    rig.network.reset()
    # Less than the margin one attempt needs: nothing may start.
    context = LambdaContext(rig.clock, rig.clock.now + deadline.MARGIN_S - 0.1)

    status, headers, text = rig.send(route, context)

    assert status == 503, text
    assert_error(status, headers, text, "unavailable")
    assert rig.network.attempts == []
    assert rig.tables() == seeded


@pytest.mark.parametrize("route_name", DEADLINE_ROUTES)
@pytest.mark.parametrize("timeout_s", [5.0, 10.0])
def test_hanging_calls_end_in_our_503_before_the_function_timeout(
    rig: Rig, route_name: str, timeout_s: float
) -> None:
    route = ROUTES[route_name]
    seeded = rig.reseed()
    rig.network.reset({operation: hangs for operation in route.operations})
    started = rig.clock.now
    context = LambdaContext(rig.clock, started + timeout_s)
    deadline_at = started + timeout_s - deadline.MARGIN_S

    status, headers, text = rig.send(route, context)

    assert status == 503, text
    assert_error(status, headers, text, "unavailable")
    # Our JSON, while the function still had time to send it (Lambda's timeout never fired).
    assert rig.clock.now <= started + timeout_s - (deadline.MARGIN_S - ATTEMPT_S)
    # No attempt started and no back-off began once the deadline had passed.
    assert all(when < deadline_at for when, seconds in rig.clock.sleeps if seconds > 0)
    assert rig.tables() == seeded


def test_a_conflict_that_outlasts_the_deadline_is_503(rig: Rig) -> None:
    route = ROUTES["create+email"]
    seeded = rig.reseed()

    def slow_conflict(attempt: Attempt) -> AWSResponse:
        attempt.clock.run_until(attempt.clock.now + 1.0)  # each attempt waits a second
        return conflict()(attempt)

    rig.network.reset({"TransactWriteItems": slow_conflict})
    started = rig.clock.now
    context = LambdaContext(rig.clock, started + 8.0)

    status, headers, text = rig.send(route, context)

    assert status == 503, text
    assert_error(status, headers, text, "unavailable")
    assert rig.network.attempts.count("TransactWriteItems") < dynamo.MAX_ATTEMPTS
    assert rig.clock.now < started + 8.0
    assert rig.tables() == seeded


def test_a_failed_shard_query_leaves_no_query_running_after_the_answer(
    rig: Rig, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Lambda freezes an execution environment once the handler returns: a shard query still
    # running then would resume inside the next invocation, on its time and its pool threads.
    rig.reseed()
    futures: list[Future[Any]] = []
    pool = ThreadPoolExecutor(max_workers=listing.LIST_SHARDS)

    class Recording:
        def submit(self, *args: Any) -> Future[Any]:
            future = pool.submit(*args)
            futures.append(future)
            return future

    monkeypatch.setattr(listing, "_shard_pool", Recording)

    def shard_zero_fails_first(attempt: Attempt) -> AWSResponse:
        if attempt.body["ExpressionAttributeValues"][":shard"]["S"] == "0":
            return dynamodb_error(attempt.request, 400, "ThrottlingException")
        futures[0].exception()  # the other shards answer only once shard 0 has failed
        return attempt.deliver()

    rig.network.reset({"Query": shard_zero_fails_first})
    status, headers, text = rig.send(ROUTES["list"])

    assert status == 503, text
    assert_error(status, headers, text, "unavailable")
    assert len(futures) == listing.LIST_SHARDS
    assert all(future.done() for future in futures)
    pool.shutdown()
