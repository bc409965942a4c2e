"""The one builder of API Gateway HTTP API payload-2.0 events, shaped like AWS's documented example.

    from tools.events import http_api_event

    http_api_event("GET", "/users/01", route_key="GET /users/{user_id}",
                   path_params={"user_id": "01"})
    http_api_event("POST", "/users", json_body={"name": "Joy"}, headers={"If-Match": '"1"'})
    http_api_event("GET", "/users", query="limit=2&limit=3")       # the raw query string

Used by the unit tests, the bench and the local front (tools/localaws/gateway.py), so all three
send the
handler what API Gateway sends. The reference is AWS's example (tests/events/base.json) and the
captured fixtures in tests/events/, which tests/unit/test_events.py compares it with:

- header names lower-cased, repeated headers joined with commas, the `Cookie` header moved to
  `cookies`; x-forwarded-* and x-amzn-trace-id added as the gateway does;
- `queryStringParameters` decoded from the raw query string with repeated keys comma-joined;
  `cookies`, `queryStringParameters`, `pathParameters` and `body` left out when empty;
- a body arrives as text only for text content types (`text/*`, `application/json`,
  `application/xml`, `application/javascript`; measured against AWS) and base64 otherwise;
- `requestContext.authorizer` as given (the authorizers in tools/localaws/authorizers.py build it).

Standard library only: the local front imports it under any interpreter.
"""

from __future__ import annotations

import base64
import json
import os
import time
from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import parse_qsl, urlencode

ACCOUNT_ID = "123456789012"
API_ID = "abc123"
SOURCE_IP = "198.51.100.7"
USER_AGENT = "curl/8.5.0"
# Only these reach the function as text; everything else (a missing Content-Type and
# application/x-www-form-urlencoded included) arrives base64-encoded.
TEXT_CONTENT_TYPES = frozenset({"application/json", "application/xml", "application/javascript"})

Pairs = Mapping[str, str] | Sequence[tuple[str, str]]


def is_text_content_type(content_type: str | None) -> bool:
    if not content_type:
        return False
    media_type = content_type.split(";", 1)[0].strip().lower()
    return media_type.startswith("text/") or media_type in TEXT_CONTENT_TYPES


def new_request_id() -> str:
    """An API Gateway request id: 16 characters like "JKJaXmPLvHcESHA="."""
    raw = base64.b64encode(os.urandom(11)).decode()
    return raw.replace("+", "A").replace("/", "B")


def _pairs(values: Pairs | None) -> list[tuple[str, str]]:
    if values is None:
        return []
    if isinstance(values, Mapping):
        return [(str(k), str(v)) for k, v in values.items()]
    return [(str(k), str(v)) for k, v in values]


def _joined(pairs: list[tuple[str, str]]) -> dict[str, str]:
    joined: dict[str, str] = {}
    for key, value in pairs:
        joined[key] = f"{joined[key]},{value}" if key in joined else value
    return joined


def http_api_event(
    method: str,
    path: str,
    *,
    route_key: str = "$default",
    path_params: Mapping[str, str] | None = None,
    query: Pairs | str | None = None,
    headers: Pairs | None = None,
    body: bytes | str | None = None,
    json_body: Any = None,
    base64_body: bool | None = None,
    request_id: str | None = None,
    authorizer: Mapping[str, Any] | None = None,
    source_ip: str = SOURCE_IP,
    api_id: str = API_ID,
    stage: str = "$default",
    context_path: str | None = None,
    protocol: str = "HTTP/1.1",
    server_port: int = 443,
    now: float | None = None,
) -> dict[str, Any]:
    """The payload-2.0 event API Gateway sends a Lambda proxy integration for this request.

    `query`: pairs (repeatable keys) or the raw query string, still percent-encoded. `body`: the
    raw body; `json_body`: a value to send as JSON (Content-Type application/json unless
    `headers` names one). `base64_body`: None decides as API Gateway does from the Content-Type.
    `context_path`: requestContext.http.path when it differs from the raw path (a named stage).
    """
    now = time.time() if now is None else now
    header_pairs = _pairs(headers)
    if json_body is not None:
        body = json.dumps(json_body)
        if not any(name.lower() == "content-type" for name, _ in header_pairs):
            header_pairs.append(("content-type", "application/json"))
    cookies: list[str] = []
    lowered: list[tuple[str, str]] = []
    for name, value in header_pairs:
        if name.lower() == "cookie":
            cookies += [c.strip() for c in value.split(";") if c.strip()]
        else:
            lowered.append((name.lower(), value))
    event_headers = _joined(lowered)
    event_headers.setdefault("host", f"{api_id}.execute-api.us-east-1.amazonaws.com")
    event_headers.setdefault("x-forwarded-for", source_ip)
    event_headers.setdefault("x-forwarded-port", str(server_port))
    event_headers.setdefault("x-forwarded-proto", "https" if server_port == 443 else "http")
    event_headers.setdefault("x-amzn-trace-id", f"Root=1-{int(now):08x}-{os.urandom(12).hex()}")
    raw_query = query if isinstance(query, str) else urlencode(_pairs(query))
    host = event_headers["host"].split(":", 1)[0]
    event: dict[str, Any] = {
        "version": "2.0",
        "routeKey": route_key,
        "rawPath": path,
        "rawQueryString": raw_query,
    }
    if cookies:
        event["cookies"] = cookies
    event["headers"] = event_headers
    parameters = _joined(parse_qsl(raw_query, keep_blank_values=True))
    if parameters:
        event["queryStringParameters"] = parameters
    context: dict[str, Any] = {
        "accountId": ACCOUNT_ID,
        "apiId": api_id,
        "domainName": host,
        "domainPrefix": host.split(".", 1)[0],
        "http": {
            "method": method.upper(),
            "path": context_path if context_path is not None else path,
            "protocol": protocol,
            "sourceIp": source_ip,
            "userAgent": event_headers.get("user-agent", ""),
        },
        "requestId": request_id or new_request_id(),
        "routeKey": route_key,
        "stage": stage,
        "time": time.strftime("%d/%b/%Y:%H:%M:%S +0000", time.gmtime(now)),
        "timeEpoch": int(now * 1000),
    }
    if authorizer is not None:
        context["authorizer"] = dict(authorizer)
    event["requestContext"] = context
    raw = body.encode() if isinstance(body, str) else body
    if raw:
        text = is_text_content_type(event_headers.get("content-type"))
        encode = (not text) if base64_body is None else base64_body
        if not encode:
            try:
                event["body"] = raw.decode("utf-8")
            except UnicodeDecodeError:
                encode = True
        if encode:
            event["body"] = base64.b64encode(raw).decode()
        event["isBase64Encoded"] = encode
    else:
        event["isBase64Encoded"] = False
    if path_params:
        event["pathParameters"] = dict(path_params)
    return event
