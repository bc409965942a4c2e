"""The Lambda entry point: `users_api.app.handler`.

Module-level work is cold-start work: the DynamoDB client is created once per execution
environment and reused by every invocation. Where it connects is the AWS SDK's business
(`AWS_REGION`, `AWS_ENDPOINT_URL`, ...); the table names come from the function's environment.
"""

from __future__ import annotations

import logging
import os
from typing import Any

import boto3

# Loads the package's compiled core at init, so a package built for another Python or CPU fails
# here (pydantic/pydantic#6557: "No module named 'pydantic_core._pydantic_core'"), not on the
# first write. The floor pays this too; the models are built on first use (see routes.py).
import pydantic_core  # noqa: F401
from botocore.config import Config

from users_api.errors import HttpError
from users_api.http import Response, error_response, json_response, parse_event
from users_api.paging import PageTokens
from users_api.routes import ROUTER, Services
from users_api.store import Tables, UserStore

# Only our logger: the root logger's level is the runtime's (Lambda's `logging_config`), and
# raising it would let botocore's INFO chatter into every cold start's logs.
logger = logging.getLogger("users_api")
logger.setLevel(os.environ.get("LOG_LEVEL", "INFO").upper())

_CLIENT_CONFIG = Config(
    retries={"mode": "standard", "max_attempts": 3},
    connect_timeout=2,
    read_timeout=5,
    tcp_keepalive=True,
)


def build_services() -> Services:
    """The store and token codec for this container, from the environment."""
    tables = Tables.from_environment()
    client = boto3.client("dynamodb", config=_CLIENT_CONFIG)
    return Services(store=UserStore(client, tables), tokens=PageTokens(tables.users))


SERVICES = build_services()


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Serve one API Gateway HTTP API (payload format 2.0) event."""
    request_id = str(getattr(context, "aws_request_id", "") or "")
    try:
        request = parse_event(event, request_id)
        request_id = request.request_id or request_id
        response = ROUTER.dispatch(request, SERVICES)
    except HttpError as error:
        response = error_response(error)
    except Exception:
        logger.exception("unhandled error", extra={"request_id": request_id})
        response = _internal_error(request_id)
    return response.to_event(request_id)


def _internal_error(request_id: str) -> Response:
    return json_response(
        500,
        {"error": "Internal server error", "code": "internal_error", "request_id": request_id},
    )
