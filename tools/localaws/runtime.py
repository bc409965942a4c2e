"""Lambda runtime emulation for `make local`: a pool of worker processes, each an environment.

A worker runs under the function's own Python (python3.13 -> /root/.pyenv/versions/3.13.*/bin/python
or python3.13 on PATH), with the unzipped deployed package first on its path, then the AWS SDK for
that interpreter, and an environment built like Lambda's (the function's variables, the reserved
AWS_LAMBDA_* ones, credentials, region, and AWS_ENDPOINT_URL pointing at the emulator). It imports
the handler once, then answers one event at a time on a dedicated pipe, so what the handler prints
cannot corrupt the protocol. The pool spawns workers on demand up to a cap, reuses warm ones, and
kills a worker whose invocation outlives the function's timeout, as Lambda does.

Each environment runs with its function's EXECUTION ROLE's credentials, as on Lambda: before it
starts a worker, the pool calls STS AssumeRole on the role (`FunctionSpec.role`) as the Lambda
service. The emulator enforces IAM, so every DynamoDB call the handler makes is judged by the
role's policy (iam.tf). "As the Lambda service" means with the keys of the emulator's stand-in
for the principal `lambda.amazonaws.com` (tools/localaws/emulator_iam.py), which the role's trust
policy
admits exactly as AWS's would admit Lambda; nothing else about the role is bypassed. A spec
without a role (the runtime's own tests, no emulator) gets fixed placeholder credentials.

This file is also the worker's program (`python -P tools/localaws/runtime.py --worker`): keep its
imports to
the standard library, since the function's interpreter has nothing else.
"""

from __future__ import annotations

import contextlib
import importlib
import json
import logging
import os
import selectors
import signal
import subprocess
import sys
import threading
import time
import traceback
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

FDS_VARIABLE = "_LOCAL_LAMBDA_FDS"
HANDLER_VARIABLE = "_HANDLER"
# Lambda's limit on a synchronous invocation's response.
MAX_RESPONSE_BYTES = 6 * 1024 * 1024
# Lambda gives the init phase 10 s of its own for on-demand functions.
INIT_TIMEOUT_S = 10.0
DEFAULT_MAX_WORKERS = 8


# ---------------------------------------------------------------------------------------- host side


@dataclass(frozen=True)
class Interpreter:
    """The Python that runs the function, and why when it is not the runtime's own."""

    path: str
    version: str
    fallback_reason: str | None = None


def find_interpreter(runtime: str) -> Interpreter:
    """The interpreter for a runtime name like "python3.13", or the current one as a fallback."""
    # Imported here: this module also runs as the worker, under the function's Python, where
    # only the package and the SDK are importable.
    from tools.build import find_interpreter as find_python

    if not runtime.startswith("python"):
        raise ValueError(f"runtime {runtime!r} is not a Python runtime")
    version = runtime.removeprefix("python")
    found = find_python(version)
    if found is not None:
        return Interpreter(str(found), version)
    current = f"{sys.version_info.major}.{sys.version_info.minor}"
    return Interpreter(
        sys.executable,
        current,
        f"python{version} not found (pyenv install {version} or put python{version} on PATH); "
        f"running the function under Python {current} with dependencies built for it",
    )


@dataclass(frozen=True)
class FunctionSpec:
    """What Lambda knows of the function: its configuration and where its package is unzipped."""

    name: str
    handler: str
    runtime: str
    timeout_s: float
    memory_mb: int
    code_dir: Path
    environment: Mapping[str, str] = field(default_factory=dict)
    arn: str = ""
    version: str = "$LATEST"
    region: str = "us-east-1"
    log_format: str = "Text"  # the function's logging_config: "Text" or "JSON"
    role: str = ""  # the execution role's ARN; its credentials are what the handler runs with

    @property
    def log_group_name(self) -> str:
        return f"/aws/lambda/{self.name}"


@dataclass(frozen=True)
class InvokeResult:
    """One invocation's outcome: the handler's return value, or Lambda's error payload."""

    request_id: str
    payload: Any = None
    error: Mapping[str, Any] | None = None
    timed_out: bool = False
    duration_ms: float = 0.0
    init_ms: float | None = None

    @property
    def ok(self) -> bool:
        return self.error is None


class InitError(RuntimeError):
    """The handler could not be loaded (import error, missing function, crash during init)."""


class PoolBusyError(RuntimeError):
    """Every worker stayed busy for longer than the caller would wait."""


def lambda_environment(
    spec: FunctionSpec,
    *,
    endpoint_url: str,
    log_stream_name: str,
    credentials: Mapping[str, str] | None = None,
) -> dict[str, str]:
    """An execution environment's variables: a clean base, the function's own, the reserved ones."""
    creds = credentials or {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
    }
    env = {
        "PATH": "/usr/local/bin:/usr/bin:/bin",
        "LANG": "en_US.UTF-8",
        "TZ": ":UTC",
        "PYTHONUNBUFFERED": "1",
    }
    env.update(spec.environment)
    env.update(creds)
    env.update(
        {
            "AWS_REGION": spec.region,
            "AWS_DEFAULT_REGION": spec.region,
            "AWS_ENDPOINT_URL": endpoint_url,
            "AWS_EXECUTION_ENV": f"AWS_Lambda_{spec.runtime}",
            "AWS_LAMBDA_FUNCTION_NAME": spec.name,
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(spec.memory_mb),
            "AWS_LAMBDA_FUNCTION_VERSION": spec.version,
            "AWS_LAMBDA_INITIALIZATION_TYPE": "on-demand",
            "AWS_LAMBDA_LOG_FORMAT": spec.log_format,
            "AWS_LAMBDA_LOG_GROUP_NAME": spec.log_group_name,
            "AWS_LAMBDA_LOG_STREAM_NAME": log_stream_name,
            "LAMBDA_TASK_ROOT": str(spec.code_dir),
            HANDLER_VARIABLE: spec.handler,
        }
    )
    return env


def _log_target(log: TextIO) -> tuple[int, Callable[[], None]]:
    """The fd for a worker's stdout/stderr: the log's own, or a pipe a thread copies to the log."""
    try:
        return log.fileno(), lambda: None
    except (AttributeError, OSError, ValueError):
        pass
    read_fd, write_fd = os.pipe()

    def pump() -> None:
        with os.fdopen(read_fd, "r", errors="replace") as lines:
            for line in lines:
                log.write(line)

    def start() -> None:
        os.close(write_fd)
        threading.Thread(target=pump, daemon=True).start()

    return write_fd, start


def _log_stream_name(version: str) -> str:
    return f"{time.strftime('%Y/%m/%d', time.gmtime())}/[{version}]{uuid.uuid4().hex}"


def execution_role_credentials(spec: FunctionSpec, endpoint_url: str) -> dict[str, str] | None:
    """The function's role assumed through STS as the Lambda service does (None without a role)."""
    if not spec.role:
        return None
    import boto3  # host side only: the worker's interpreter has no boto3 of its own here

    from tools.localaws.emulator_iam import LAMBDA_SERVICE_KEY

    sts = boto3.client(
        "sts",
        endpoint_url=endpoint_url,
        region_name=spec.region,
        aws_access_key_id=LAMBDA_SERVICE_KEY,
        aws_secret_access_key=LAMBDA_SERVICE_KEY,
    )
    # Lambda names the session after the function.
    assumed = sts.assume_role(RoleArn=spec.role, RoleSessionName=spec.name)["Credentials"]
    return {
        "AWS_ACCESS_KEY_ID": assumed["AccessKeyId"],
        "AWS_SECRET_ACCESS_KEY": assumed["SecretAccessKey"],
        "AWS_SESSION_TOKEN": assumed["SessionToken"],
    }


class Worker:
    """One execution environment: a process that imported the handler; one event at a time."""

    def __init__(
        self,
        spec: FunctionSpec,
        interpreter: Interpreter,
        *,
        sdk_paths: Sequence[Path],
        endpoint_url: str,
        log: TextIO,
    ) -> None:
        self.spec = spec
        self.log_stream_name = _log_stream_name(spec.version)
        env = lambda_environment(
            spec,
            endpoint_url=endpoint_url,
            log_stream_name=self.log_stream_name,
            credentials=execution_role_credentials(spec, endpoint_url),
        )
        env["PYTHONPATH"] = os.pathsep.join([str(spec.code_dir), *(str(p) for p in sdk_paths)])
        to_worker_r, to_worker_w = os.pipe()
        from_worker_r, from_worker_w = os.pipe()
        env[FDS_VARIABLE] = f"{to_worker_r},{from_worker_w}"
        started = time.monotonic()
        log_fd, after_spawn = _log_target(log)
        try:
            # -P: the worker's path is the package and the SDK, not this tools/ directory. The
            # handler's stdout and stderr go to our log, like CloudWatch; the protocol has pipes.
            self.process = subprocess.Popen(
                [interpreter.path, "-P", "-u", str(Path(__file__).resolve()), "--worker"],
                env=env,
                cwd=spec.code_dir,
                stdin=subprocess.DEVNULL,
                stdout=log_fd,
                stderr=log_fd,
                pass_fds=(to_worker_r, from_worker_w),
            )
        finally:
            after_spawn()
            os.close(to_worker_r)
            os.close(from_worker_w)
        self._out = os.fdopen(to_worker_w, "wb", buffering=0)
        self._in_fd = from_worker_r
        self._buffer = b""
        self.busy = False
        try:
            ready = self._read_message(INIT_TIMEOUT_S)
        except TimeoutError:
            self.kill()
            raise InitError(
                f"handler {spec.handler} did not finish importing within {INIT_TIMEOUT_S:.0f} s"
            ) from None
        except EOFError:
            self.kill()
            raise InitError(
                f"handler {spec.handler} failed to start: the worker exited "
                f"with code {self.process.returncode} (see the log above)"
            ) from None
        if "init_error" in ready:
            self.kill()
            raise InitError(f"handler {spec.handler} failed to import: {ready['init_error']}")
        self.init_ms = (time.monotonic() - started) * 1000
        self.fresh = True

    @property
    def alive(self) -> bool:
        return self.process.poll() is None

    def invoke(self, event: Any, request_id: str) -> InvokeResult:
        """Send one event; kill the worker if it does not answer within the function's timeout."""
        started = time.monotonic()
        deadline_ms = int(time.time() * 1000 + self.spec.timeout_s * 1000)
        init_ms = self.init_ms if self.fresh else None
        self.fresh = False
        message = {
            "event": event,
            "request_id": request_id,
            "deadline_ms": deadline_ms,
            "invoked_function_arn": self.spec.arn,
        }
        try:
            self._out.write(json.dumps(message, separators=(",", ":")).encode() + b"\n")
            reply = self._read_message(self.spec.timeout_s)
        except TimeoutError:
            self.kill()
            return InvokeResult(
                request_id,
                error={
                    "errorType": "Sandbox.Timedout",
                    "errorMessage": f"{time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime())} "
                    f"{request_id} Task timed out after {self.spec.timeout_s:.2f} seconds",
                },
                timed_out=True,
                duration_ms=(time.monotonic() - started) * 1000,
                init_ms=init_ms,
            )
        except (EOFError, BrokenPipeError, ValueError):
            self.kill()
            return InvokeResult(
                request_id,
                error={
                    "errorType": "Runtime.ExitError",
                    "errorMessage": f"RequestId: {request_id} Error: Runtime exited "
                    f"with exit code {self.process.returncode}",
                },
                duration_ms=(time.monotonic() - started) * 1000,
                init_ms=init_ms,
            )
        duration_ms = (time.monotonic() - started) * 1000
        if "error" in reply:
            return InvokeResult(
                request_id, error=reply["error"], duration_ms=duration_ms, init_ms=init_ms
            )
        return InvokeResult(
            request_id, payload=reply.get("result"), duration_ms=duration_ms, init_ms=init_ms
        )

    def _read_message(self, timeout_s: float) -> dict[str, Any]:
        deadline = time.monotonic() + timeout_s
        with selectors.DefaultSelector() as selector:
            selector.register(self._in_fd, selectors.EVENT_READ)
            while b"\n" not in self._buffer:
                remaining = deadline - time.monotonic()
                if remaining <= 0 or not selector.select(remaining):
                    raise TimeoutError
                chunk = os.read(self._in_fd, 1 << 20)
                if not chunk:
                    self.process.wait(timeout=5)
                    raise EOFError
                self._buffer += chunk
                if len(self._buffer) > MAX_RESPONSE_BYTES * 2:
                    raise ValueError("response too large")
        line, _, self._buffer = self._buffer.partition(b"\n")
        message: dict[str, Any] = json.loads(line)
        return message

    def kill(self) -> None:
        """Stop the process at once (a timed-out or broken environment is never reused)."""
        if self.process.poll() is None:
            self.process.kill()
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.process.wait(timeout=5)
        for closer in (self._close_out, self._close_in):
            closer()

    def stop(self) -> None:
        """Ask the worker to finish (end of input) and wait for it briefly, then kill it."""
        self._close_out()
        try:
            self.process.wait(timeout=2)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=5)
        self._close_in()

    def _close_out(self) -> None:
        if hasattr(self, "_out") and not self._out.closed:
            with contextlib.suppress(OSError):
                self._out.close()

    def _close_in(self) -> None:
        if getattr(self, "_in_fd", -1) >= 0:
            with contextlib.suppress(OSError):
                os.close(self._in_fd)
            self._in_fd = -1


class WorkerPool:
    """Execution environments for one function: spawned on demand up to a cap, one request each."""

    def __init__(
        self,
        spec: FunctionSpec,
        interpreter: Interpreter,
        *,
        sdk_paths: Sequence[Path] = (),
        endpoint_url: str,
        max_workers: int = DEFAULT_MAX_WORKERS,
        log: TextIO | None = None,
    ) -> None:
        self.spec = spec
        self.interpreter = interpreter
        self.sdk_paths = list(sdk_paths)
        self.endpoint_url = endpoint_url
        self.max_workers = max_workers
        self.log = log if log is not None else sys.stderr
        self._idle: list[Worker] = []
        self._all: set[Worker] = set()
        self._starting = 0
        self._closed = False
        self._lock = threading.Condition()

    def warm(self) -> float:
        """Start one environment now, so an import failure shows at startup; its init time in ms."""
        worker = self._spawn()
        with self._lock:
            self._idle.append(worker)
            self._lock.notify()
        return worker.init_ms

    def invoke(
        self, event: Any, *, wait_s: float = 30.0, request_id: str | None = None
    ) -> InvokeResult:
        """Run the handler on one event in a free (or new) environment.

        Raises InitError when a new environment cannot load the handler, PoolBusyError when none
        frees up within wait_s.
        """
        request_id = request_id or str(uuid.uuid4())
        worker = self._acquire(wait_s)
        try:
            result = worker.invoke(event, request_id)
        finally:
            self._release(worker)
        self._report(result)
        return result

    def _acquire(self, wait_s: float) -> Worker:
        deadline = time.monotonic() + wait_s
        with self._lock:
            while True:
                if self._closed:
                    raise PoolBusyError("the runtime is shutting down")
                if self._idle:
                    worker = self._idle.pop()
                    worker.busy = True
                    return worker
                if len(self._all) + self._starting < self.max_workers:
                    self._starting += 1
                    break
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise PoolBusyError(
                        f"all {self.max_workers} workers stayed busy for {wait_s:.0f} s"
                    )
                self._lock.wait(remaining)
        worker = self._spawn(counted=True)
        worker.busy = True
        return worker

    def _spawn(self, *, counted: bool = False) -> Worker:
        try:
            worker = Worker(
                self.spec,
                self.interpreter,
                sdk_paths=self.sdk_paths,
                endpoint_url=self.endpoint_url,
                log=self.log,
            )
        except BaseException:
            if counted:
                with self._lock:
                    self._starting -= 1
                    self._lock.notify()
            raise
        with self._lock:
            if counted:
                self._starting -= 1
            self._all.add(worker)
            if self._closed:
                worker.kill()
                raise PoolBusyError("the runtime is shutting down")
        return worker

    def _release(self, worker: Worker) -> None:
        with self._lock:
            worker.busy = False
            if worker.alive and not self._closed:
                self._idle.append(worker)
            else:
                self._all.discard(worker)
                worker.kill()
            self._lock.notify()

    def _report(self, result: InvokeResult) -> None:
        # Lambda's REPORT line, in short; errors as Lambda logs them.
        init = f"\tInit Duration: {result.init_ms:.2f} ms" if result.init_ms is not None else ""
        if result.timed_out and result.error:
            print(result.error["errorMessage"], file=self.log, flush=True)
        print(
            f"REPORT RequestId: {result.request_id}\tDuration: {result.duration_ms:.2f} ms\t"
            f"Memory Size: {self.spec.memory_mb} MB{init}",
            file=self.log,
            flush=True,
        )

    @property
    def size(self) -> int:
        with self._lock:
            return len(self._all)

    def pids(self) -> list[int]:
        with self._lock:
            return [w.process.pid for w in self._all]

    def close(self) -> None:
        """Stop every environment; busy ones are killed, so no process outlives the pool."""
        with self._lock:
            self._closed = True
            workers = list(self._all)
            self._all.clear()
            self._idle.clear()
            self._lock.notify_all()
        for worker in workers:
            if worker.busy:
                worker.kill()
            else:
                worker.stop()


# -------------------------------------------------------------------------------------- worker side


class LambdaContext:
    """The context object Lambda's Python runtime passes to the handler."""

    def __init__(self, request_id: str, deadline_ms: int, invoked_function_arn: str = "") -> None:
        self.aws_request_id = request_id
        self.function_name = os.environ["AWS_LAMBDA_FUNCTION_NAME"]
        self.function_version = os.environ.get("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
        self.memory_limit_in_mb = os.environ.get("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128")
        self.log_group_name = os.environ.get("AWS_LAMBDA_LOG_GROUP_NAME", "")
        self.log_stream_name = os.environ.get("AWS_LAMBDA_LOG_STREAM_NAME", "")
        region = os.environ.get("AWS_REGION", "us-east-1")
        self.invoked_function_arn = (
            invoked_function_arn
            or f"arn:aws:lambda:{region}:123456789012:function:{self.function_name}"
        )
        self.identity = None
        self.client_context = None
        self._deadline_ms = deadline_ms

    def get_remaining_time_in_millis(self) -> int:
        return max(int(self._deadline_ms - time.time() * 1000), 0)


class _RequestIdFilter(logging.Filter):
    request_id = ""

    def filter(self, record: logging.LogRecord) -> bool:
        record.aws_request_id = self.request_id
        return True


_RECORD_FIELDS = frozenset(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {
    "message",
    "asctime",
    "aws_request_id",
}


class _JsonFormatter(logging.Formatter):
    """Lambda's JSON log format: its fields, then the record's `extra` ones at the top level."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "timestamp": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
            + f".{int(record.msecs):03d}Z",
            "level": record.levelname,
            "message": record.getMessage(),
            "logger": record.name,
            "requestId": getattr(record, "aws_request_id", ""),
        }
        line.update({k: v for k, v in vars(record).items() if k not in _RECORD_FIELDS})
        if record.exc_info:
            line["stackTrace"] = self.formatException(record.exc_info).splitlines()
        return json.dumps(line, default=str)


def _install_lambda_logging() -> _RequestIdFilter:
    # Lambda's Python runtime puts this handler on the root logger before importing the code,
    # formatted as the function's logging_config says (AWS_LAMBDA_LOG_FORMAT).
    request_filter = _RequestIdFilter()
    handler = logging.StreamHandler(sys.stdout)
    formatter: logging.Formatter
    if os.environ.get("AWS_LAMBDA_LOG_FORMAT") == "JSON":
        formatter = _JsonFormatter()
    else:
        formatter = logging.Formatter(
            "[%(levelname)s]\t%(asctime)s.%(msecs)03dZ\t%(aws_request_id)s\t%(message)s",
            "%Y-%m-%dT%H:%M:%S",
        )
        formatter.converter = time.gmtime
    handler.setFormatter(formatter)
    handler.addFilter(request_filter)
    root = logging.getLogger()
    root.addHandler(handler)
    root.setLevel(os.environ.get("AWS_LAMBDA_LOG_LEVEL", "INFO").upper())
    return request_filter


class _MarshalError(Exception):
    pass


def _error_payload(exc: BaseException) -> dict[str, Any]:
    return {
        "errorMessage": str(exc),
        "errorType": type(exc).__name__,
        # Lambda shows the function's frames, not its runtime's.
        "stackTrace": [
            line
            for frame, line in zip(
                traceback.extract_tb(exc.__traceback__),
                traceback.format_tb(exc.__traceback__),
                strict=True,
            )
            if frame.filename != __file__
        ],
    }


def _load_handler(handler: str) -> Callable[[Any, LambdaContext], Any]:
    module_name, _, function_name = handler.rpartition(".")
    if not module_name:
        raise ImportError(f"Bad handler {handler!r}: expected module.function")
    module = importlib.import_module(module_name)
    function = getattr(module, function_name, None)
    if not callable(function):
        raise AttributeError(f"module {module_name!r} has no function {function_name!r}")
    return function  # type: ignore[no-any-return]


def _invoke(
    handler: Callable[[Any, LambdaContext], Any], event: Any, context: LambdaContext
) -> bytes:
    """One invocation's reply line: the result, or the error as Lambda reports it."""
    try:
        result = handler(event, context)
        try:
            encoded = json.dumps({"result": result}, separators=(",", ":")).encode()
        except (TypeError, ValueError) as exc:
            raise _MarshalError(f"Unable to marshal response: {exc}") from None
    except Exception as exc:
        error = _error_payload(exc)
        if isinstance(exc, _MarshalError):
            error["errorType"] = "Runtime.MarshalError"
        print(f"[ERROR] {error['errorType']}: {error['errorMessage']}", flush=True)
        traceback.print_exc(file=sys.stdout)
        return json.dumps({"error": error}).encode()
    if len(encoded) > MAX_RESPONSE_BYTES:
        error = {
            "errorType": "Function.ResponseSizeTooLarge",
            "errorMessage": f"Response payload size ({len(encoded)} bytes) exceeded "
            f"the maximum allowed payload size ({MAX_RESPONSE_BYTES} bytes).",
        }
        print(f"[ERROR] {error['errorType']}: {error['errorMessage']}", flush=True)
        return json.dumps({"error": error}).encode()
    return encoded


def worker_main() -> int:
    """Import the handler once, then answer events read from the dedicated pipe until it closes."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the pool decides when this process ends
    in_fd, out_fd = (int(fd) for fd in os.environ.pop(FDS_VARIABLE).split(","))
    reader = os.fdopen(in_fd, "rb")
    writer = os.fdopen(out_fd, "wb", buffering=0)

    def send(message: Mapping[str, Any]) -> None:
        writer.write(json.dumps(message, separators=(",", ":")).encode() + b"\n")

    request_filter = _install_lambda_logging()
    handler_name = os.environ[HANDLER_VARIABLE]
    try:
        handler = _load_handler(handler_name)
    except Exception as exc:
        traceback.print_exc()
        send({"init_error": f"{exc} ({type(exc).__name__})"})
        return 1
    send({"ready": True})
    for line in reader:
        message = json.loads(line)
        request_id = message["request_id"]
        request_filter.request_id = request_id
        os.environ["_X_AMZN_TRACE_ID"] = f"Root=1-{int(time.time()):08x}-{uuid.uuid4().hex[:24]}"
        print(
            f"START RequestId: {request_id} "
            f"Version: {os.environ.get('AWS_LAMBDA_FUNCTION_VERSION')}"
        )
        context = LambdaContext(
            request_id, message["deadline_ms"], message.get("invoked_function_arn", "")
        )
        reply = _invoke(handler, message["event"], context)
        print(f"END RequestId: {request_id}", flush=True)
        writer.write(reply + b"\n")
    return 0


if __name__ == "__main__":
    if sys.argv[1:] == ["--worker"]:
        sys.exit(worker_main())
    print(
        "usage: runtime.py --worker (started by tools/localaws/gateway.py, not by hand)",
        file=sys.stderr,
    )
    sys.exit(2)
