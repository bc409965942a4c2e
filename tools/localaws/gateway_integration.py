"""The Lambda proxy integration, payload format 2.0: the event a request becomes, and the HTTP
response a function's result becomes, as API Gateway maps them (for tools/localaws/gateway.py).
"""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping
from typing import Any

from tools.events import http_api_event
from tools.localaws.gateway_config import RouteMatch
from tools.localaws.gateway_http import HttpRequest, HttpResponse, gateway_error

# -------------------------------------------------------------------------------- request -> event


def build_event(
    request: HttpRequest,
    match: RouteMatch,
    *,
    api_id: str,
    stage: str = "$default",
    stage_path: str | None = None,
    request_id: str | None = None,
    now: float | None = None,
    server_port: int = 443,
    authorizer: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """The payload-2.0 event API Gateway sends to a Lambda proxy integration for this request."""
    return http_api_event(
        request.method,
        request.raw_path,
        route_key=match.route.route_key,
        path_params=match.path_parameters,
        query=request.raw_query_string,
        headers=request.headers,
        body=request.body,
        request_id=request_id,
        authorizer=authorizer,
        source_ip=request.source_ip,
        api_id=api_id,
        stage=stage,
        context_path=stage_path,
        protocol=request.protocol,
        server_port=server_port,
        now=now,
    )


# ------------------------------------------------------------------------------ result -> response


def internal_server_error() -> HttpResponse:
    return gateway_error(500, "Internal Server Error")


class MalformedResponseError(ValueError):
    """The function's answer is not a payload-2.0 response API Gateway can map."""


def map_response(payload: Any) -> HttpResponse:
    """Turn a payload-2.0 Lambda result into the HTTP response, as API Gateway interprets it.

    A dict with statusCode is the full format; anything else valid JSON is the simplified one:
    200, content-type application/json, and the value as the body (a string as it is).
    """
    if isinstance(payload, dict) and "statusCode" in payload:
        status = payload["statusCode"]
        if isinstance(status, bool) or not isinstance(status, int | str):
            raise MalformedResponseError(f"statusCode {status!r} is not an integer")
        try:
            status = int(status)
        except ValueError:
            raise MalformedResponseError(f"statusCode {status!r} is not an integer") from None
        if not 100 <= status <= 599:
            raise MalformedResponseError(f"statusCode {status} is out of range")
        headers: list[tuple[str, str]] = []
        raw_headers = payload.get("headers") or {}
        if not isinstance(raw_headers, dict):
            raise MalformedResponseError("headers is not an object")
        for name, value in raw_headers.items():
            headers.append((str(name).lower(), _header_value(value)))
        cookies = payload.get("cookies") or []
        if not isinstance(cookies, list):
            raise MalformedResponseError("cookies is not a list")
        headers.extend(("set-cookie", str(cookie)) for cookie in cookies)
        body_value = payload.get("body")
        if body_value is None:
            body = b""
        elif not isinstance(body_value, str):
            raise MalformedResponseError("body is not a string")
        elif payload.get("isBase64Encoded"):
            try:
                body = base64.b64decode(body_value, validate=True)
            except ValueError:
                raise MalformedResponseError("body is not valid base64") from None
        else:
            body = body_value.encode("utf-8")
        if not any(k == "content-type" for k, _ in headers) and body:
            headers.append(("content-type", "text/plain; charset=utf-8"))
        return HttpResponse(status, headers, body)
    text = payload if isinstance(payload, str) else json.dumps(payload)
    return HttpResponse(200, [("content-type", "application/json")], text.encode("utf-8"))


def _header_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)
