"""The Lambda entry point: `users_api.app.handler`.

Module-level work is cold-start work: the DynamoDB client is created once per execution
environment and reused by every invocation. Where it connects is the AWS SDK's business
(`AWS_REGION`, `AWS_ENDPOINT_URL`, ...); the table names and the authorization mode come from the
function's environment. The API's routes are composed in users_api.api.

Each request gets a deadline (users_api.deadline) and ends with one structured log line
(logger `users_api.request`: request id, route key, status, latency, caller, cold start) — never
a body, an email address or a token. With Lambda's JSON log format the fields are top-level keys.
"""

from __future__ import annotations

import logging
import os
import random
import time
from typing import Any

import boto3

# Loads the package's compiled core at init, so a package built for another Python or CPU fails
# here (pydantic/pydantic#6557: "No module named 'pydantic_core._pydantic_core'"), not on the
# first write. The floor pays this too; the models are built on first use (users.routes).
import pydantic_core  # noqa: F401
from botocore.config import Config

from users_api import auth, deadline
from users_api.api import ROUTER
from users_api.dynamo import Dynamo, Tables
from users_api.errors import HttpError
from users_api.http import Request, Response, error_response, json_response, parse_event
from users_api.idempotency import IdempotencyStore
from users_api.services import Services
from users_api.users import UserRepository

# Only our loggers: the root logger's level is the runtime's (Lambda's `logging_config`), and
# raising it would let botocore's INFO chatter into every cold start's logs.
logger = logging.getLogger("users_api")
logger.setLevel(os.environ.get("LOG_LEVEL", "INFO").upper())
request_log = logging.getLogger("users_api.request")

# One attempt takes at most connect + read timeout (3 s): deadline.MARGIN_S leaves room for it.
_CLIENT_CONFIG = Config(
    retries={"mode": "standard", "max_attempts": 3},
    connect_timeout=1,
    read_timeout=2,
    tcp_keepalive=True,
)

try:  # Lambda SnapStart: restored environments must not share the snapshot's random state.
    from snapshot_restore_py import register_after_restore  # type: ignore[import-not-found]
except ImportError:  # not on SnapStart (or not on Lambda)
    pass
else:
    register_after_restore(random.seed)


def build_services() -> Services:
    """The DynamoDB gateway, repositories, idempotency store and auth settings, from the
    environment (a missing table name fails here, at init, not on a request)."""
    tables = Tables.from_environment(os.environ)
    client = boto3.client("dynamodb", config=_CLIENT_CONFIG)
    # The SDK's own retries stop at the request's deadline too.
    client.meta.events.register("before-send.dynamodb", deadline.refuse_late_attempts)
    # (botocore-stubs type every handler as returning None; needs-retry handlers answer False.)
    client.meta.events.register_first(
        "needs-retry.dynamodb",
        deadline.stop_late_retries,  # type: ignore[arg-type]
    )
    db = Dynamo(client)
    services = Services(
        db=db,
        tables=tables,
        idempotency=IdempotencyStore(db, tables.name("idempotency")),
        auth=auth.Settings.from_environment(),
    )
    services.repository(UserRepository)
    return services


SERVICES = build_services()
_cold = [True]  # the first invocation of this execution environment


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Serve one API Gateway HTTP API (payload format 2.0) event."""
    started = time.perf_counter()
    deadline.start(deadline.Deadline.from_context(context))
    request_id = str(getattr(context, "aws_request_id", "") or "")
    request: Request | None = None
    try:
        request = parse_event(event, request_id)
        request_id = request.request_id or request_id
        response = ROUTER.dispatch(request, SERVICES)
    except HttpError as error:
        response = error_response(error)
    except Exception:
        logger.exception("unhandled error", extra={"request_id": request_id})
        response = _internal_error(request_id)
    _log_request(request, request_id, response, started)
    return response.to_event(request_id)


def _log_request(
    request: Request | None, request_id: str, response: Response, started: float
) -> None:
    cold, _cold[0] = _cold[0], False
    fields: dict[str, Any] = {
        "request_id": request_id,
        "route_key": (request.route_key or "$default") if request else "-",
        "method": request.method if request else "-",
        "status": response.status,
        "latency_ms": round((time.perf_counter() - started) * 1000, 2),
        "cold_start": cold,
    }
    if SERVICES.auth.mode != "NONE" and request is not None:
        try:
            fields["caller"] = auth.caller_of(request.authorizer, SERVICES.auth).principal
        except HttpError:
            fields["caller"] = None
    request_log.info("request", extra=fields)


def _internal_error(request_id: str) -> Response:
    return json_response(
        500,
        {"error": "Internal server error", "code": "internal_error", "request_id": request_id},
    )
