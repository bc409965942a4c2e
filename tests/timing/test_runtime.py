"""tools/localaws/runtime.py's worker processes: real interpreters, real pipes, real timeouts.

The timing group: these spawn processes and wait on the function's timeout or on a busy pool, so
they take seconds and lean on the machine's speed; they run in `make test` after the unit tests
and never inside tests/unit (see pytest's `timing` marker).
"""

from __future__ import annotations

import dataclasses
import json
import sys
import textwrap
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tools.localaws.runtime import (
    FunctionSpec,
    InitError,
    Interpreter,
    InvokeResult,
    PoolBusyError,
    WorkerPool,
    find_interpreter,
)

pytestmark = pytest.mark.timing

FUNCTION_ARN = "arn:aws:lambda:us-east-1:123456789012:function:users-api-dev-users-api"


STAND_IN_HANDLER = """
import json, os, sys, time

print("import-time output goes to the log, not the protocol")

def handler(event, context):
    print("handler output", flush=True)
    sys.stdout.write("{not json\\n")
    action = event.get("action")
    if action == "sleep":
        time.sleep(event["seconds"])
    if action == "raise":
        raise KeyError("missing")
    if action == "exit":
        os._exit(7)
    return {
        "request_id": context.aws_request_id,
        "function_name": context.function_name,
        "function_version": context.function_version,
        "memory_limit_in_mb": context.memory_limit_in_mb,
        "invoked_function_arn": context.invoked_function_arn,
        "log_group_name": context.log_group_name,
        "log_stream_name": context.log_stream_name,
        "remaining_ms": context.get_remaining_time_in_millis(),
        "pid": os.getpid(),
        "env": {k: os.environ.get(k) for k in ("USERS_TABLE", "AWS_ENDPOINT_URL", "AWS_REGION",
                                             "AWS_LAMBDA_FUNCTION_NAME", "HOME")},
        "cwd": os.getcwd(),
    }
"""


def _spec(
    code_dir: Path, handler: str = "standin.app.handler", timeout_s: float = 2
) -> FunctionSpec:
    return FunctionSpec(
        name="users-api-test",
        handler=handler,
        runtime="python3.13",
        timeout_s=timeout_s,
        memory_mb=256,
        code_dir=code_dir,
        environment={"USERS_TABLE": "users-test"},
        arn=FUNCTION_ARN,
    )


@pytest.fixture
def code_dir(tmp_path: Path) -> Path:
    package = tmp_path / "package" / "standin"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "app.py").write_text(textwrap.dedent(STAND_IN_HANDLER))
    return tmp_path / "package"


CURRENT = Interpreter(sys.executable, f"{sys.version_info.major}.{sys.version_info.minor}")


@pytest.fixture
def pool(code_dir: Path, tmp_path: Path) -> Iterator[WorkerPool]:
    log = (tmp_path / "function.log").open("w")
    pool = WorkerPool(
        _spec(code_dir), CURRENT, endpoint_url="http://127.0.0.1:4566", max_workers=2, log=log
    )
    yield pool
    pool.close()
    log.close()


def test_handler_gets_a_real_context_and_lambdas_environment(pool: WorkerPool) -> None:
    result = pool.invoke({}, request_id="req-123")
    assert result.ok, result.error
    answer = result.payload
    assert answer["request_id"] == "req-123"
    assert answer["function_name"] == "users-api-test"
    assert answer["function_version"] == "$LATEST"
    assert answer["memory_limit_in_mb"] == "256"
    assert answer["invoked_function_arn"] == FUNCTION_ARN
    assert answer["log_group_name"] == "/aws/lambda/users-api-test"
    assert answer["log_stream_name"].count("/") == 3
    assert 1000 < answer["remaining_ms"] <= 2000
    assert answer["env"] == {
        "USERS_TABLE": "users-test",
        "AWS_ENDPOINT_URL": "http://127.0.0.1:4566",
        "AWS_REGION": "us-east-1",
        "AWS_LAMBDA_FUNCTION_NAME": "users-api-test",
        "HOME": None,  # a clean environment, not the caller's
    }
    assert Path(answer["cwd"]) == pool.spec.code_dir


def test_warm_worker_is_reused(pool: WorkerPool) -> None:
    first = pool.invoke({})
    second = pool.invoke({})
    assert first.init_ms is not None
    assert second.init_ms is None
    assert first.payload["pid"] == second.payload["pid"]
    assert pool.size == 1


def test_concurrent_requests_get_their_own_workers_up_to_the_cap(pool: WorkerPool) -> None:
    results: list[InvokeResult] = []

    def call() -> None:
        results.append(pool.invoke({"action": "sleep", "seconds": 0.5}))

    threads = [threading.Thread(target=call) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert all(r.ok for r in results)
    assert len({r.payload["pid"] for r in results}) == 2  # the third waited for a free one
    assert pool.size == 2


def test_timeout_kills_the_worker_and_the_next_request_gets_a_fresh_one(pool: WorkerPool) -> None:
    first = pool.invoke({})
    started = time.monotonic()
    timed_out = pool.invoke({"action": "sleep", "seconds": 30})
    assert time.monotonic() - started < 4
    assert timed_out.timed_out
    assert "Task timed out after 2.00 seconds" in timed_out.error["errorMessage"]  # type: ignore[index]
    after = pool.invoke({})
    assert after.ok
    assert after.payload["pid"] != first.payload["pid"]


def test_handler_exception_and_crash_are_errors_not_hangs(pool: WorkerPool) -> None:
    raised = pool.invoke({"action": "raise"})
    assert raised.error is not None
    assert raised.error["errorType"] == "KeyError"
    assert all("runtime.py" not in line for line in raised.error["stackTrace"])
    crashed = pool.invoke({"action": "exit"})
    assert crashed.error is not None
    assert "exit code 7" in crashed.error["errorMessage"]
    assert pool.invoke({}).ok


def test_busy_pool_gives_up_after_the_wait(code_dir: Path, tmp_path: Path) -> None:
    with (tmp_path / "log").open("w") as log:
        pool = WorkerPool(_spec(code_dir), CURRENT, endpoint_url="x", max_workers=1, log=log)
        try:
            thread = threading.Thread(target=pool.invoke, args=({"action": "sleep", "seconds": 1},))
            thread.start()
            time.sleep(0.3)
            with pytest.raises(PoolBusyError):
                pool.invoke({}, wait_s=0.2)
            thread.join()
        finally:
            pool.close()


def test_import_failure_is_reported_with_the_missing_module(code_dir: Path, tmp_path: Path) -> None:
    (code_dir / "standin" / "broken.py").write_text("import pydantic_core_nope\n")
    with (tmp_path / "log").open("w") as log:
        pool = WorkerPool(
            _spec(code_dir, handler="standin.broken.handler"), CURRENT, endpoint_url="x", log=log
        )
        with pytest.raises(InitError) as raised:
            pool.warm()
        pool.close()
    assert str(raised.value) == (
        "handler standin.broken.handler failed to import: "
        "No module named 'pydantic_core_nope' (ModuleNotFoundError)"
    )


def test_close_leaves_no_worker_running(pool: WorkerPool) -> None:
    pool.invoke({})
    processes = [w.process for w in pool._all]
    pool.close()
    assert processes
    assert all(p.poll() is not None for p in processes)


def test_interpreter_for_the_runtime_or_a_named_fallback() -> None:
    found = find_interpreter("python3.13")
    if found.fallback_reason is None:
        assert found.version == "3.13"
    else:
        assert "python3.13 not found" in found.fallback_reason
        assert found.path == sys.executable
    with pytest.raises(ValueError, match="not a Python runtime"):
        find_interpreter("nodejs20.x")


def test_a_json_log_format_function_logs_json_lines_with_its_extra_fields(
    code_dir: Path, tmp_path: Path
) -> None:
    (code_dir / "standin" / "logs.py").write_text(
        "import logging\n"
        "log = logging.getLogger('standin.request')\n"
        "def handler(event, context):\n"
        "    log.info('request', extra={'route_key': 'GET /x', 'status': 200})\n"
        "    return {}\n"
    )
    spec = dataclasses.replace(_spec(code_dir, handler="standin.logs.handler"), log_format="JSON")
    log_path = tmp_path / "function.log"
    with log_path.open("w") as log:
        pool = WorkerPool(spec, CURRENT, endpoint_url="x", log=log)
        try:
            assert pool.invoke({}, request_id="req-json").ok
        finally:
            pool.close()

    lines = [json.loads(line) for line in log_path.read_text().splitlines() if line.startswith("{")]
    assert [(line["message"], line["logger"]) for line in lines] == [("request", "standin.request")]
    (line,) = lines
    assert (line["route_key"], line["status"], line["requestId"]) == ("GET /x", 200, "req-json")
    assert line["level"] == "INFO"
