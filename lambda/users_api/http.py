"""Translation between API Gateway HTTP API payload-2.0 events and small request/response values."""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, unquote

from users_api.errors import BadRequest, HttpError, PayloadTooLarge

MAX_BODY_BYTES = 64 * 1024
JSON_CONTENT_TYPE = "application/json"
# If-Match: only entity tags this API issues (`"<version>"`, no leading zero, at most 18 digits)
# can match; anything else, and headers longer or with more tags than any client needs, match
# nothing (412). Strong comparison, so weak tags (W/"1") never match either.
_ETAG = re.compile(r'"([1-9][0-9]{0,17})"')
MAX_IF_MATCH_LENGTH = 1024
MAX_IF_MATCH_TAGS = 20


@dataclass(frozen=True, slots=True)
class Request:
    """What the routes need from an event: nothing AWS-specific beyond the route key."""

    method: str
    path: str
    route_key: str | None = None
    path_params: dict[str, str] = field(default_factory=dict)
    query: dict[str, str] = field(default_factory=dict)
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes | None = None
    request_id: str = ""
    # requestContext.authorizer as API Gateway wrote it: the only source of the caller's identity.
    authorizer: Mapping[str, Any] = field(default_factory=dict)

    def header(self, name: str) -> str | None:
        return self.headers.get(name.lower())

    def json(self) -> dict[str, Any]:
        """The body as a JSON object; anything else is a 400."""
        if not self.body:
            raise BadRequest("Request body is required", code="body_required")
        try:
            value = json.loads(self.body, object_pairs_hook=_unique_keys)
        except _DuplicateKey as duplicate:
            raise BadRequest(
                f"Request body repeats the member {duplicate.key!r}", code="invalid_json"
            ) from None
        except (UnicodeDecodeError, ValueError, RecursionError) as error:  # deep nesting too
            raise BadRequest(
                f"Request body is not valid JSON: {error}", code="invalid_json"
            ) from None
        if not isinstance(value, dict):
            raise BadRequest("Request body must be a JSON object", code="invalid_body")
        return value


@dataclass(frozen=True, slots=True)
class Response:
    """A response whose body is already-serialised JSON text (or empty)."""

    status: int
    body: str | None = None
    headers: dict[str, str] = field(default_factory=dict)

    def to_event(self, request_id: str = "") -> dict[str, Any]:
        headers = dict(self.headers)
        if self.body is not None:
            headers.setdefault("Content-Type", JSON_CONTENT_TYPE)
        if request_id:
            headers["X-Request-Id"] = request_id
        return {
            "statusCode": self.status,
            "headers": headers,
            "body": self.body if self.body is not None else "",
            "isBase64Encoded": False,
        }


def to_json(payload: Any) -> str:
    """Compact JSON text, ASCII-escaped (CPython's encoder is fastest that way)."""
    return json.dumps(payload, separators=(",", ":"))


def json_response(status: int, payload: Any, headers: dict[str, str] | None = None) -> Response:
    return Response(status, to_json(payload), headers or {})


def error_response(error: HttpError) -> Response:
    return json_response(error.status, error.body(), error.headers)


class _DuplicateKey(ValueError):
    def __init__(self, key: str) -> None:
        super().__init__(key)
        self.key = key


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """A JSON object whose members are unique (RFC 8259 says they SHOULD be; we insist)."""
    value = dict(pairs)
    if len(value) != len(pairs):
        seen: set[str] = set()
        for key, _ in pairs:
            if key in seen:
                raise _DuplicateKey(key)
            seen.add(key)
    return value


def parse_event(event: dict[str, Any], request_id: str = "") -> Request:
    """Build a `Request` from a payload-2.0 event; raises 4xx errors for bodies we will not read.

    An event without `requestContext.http.method` is not one API Gateway sends (a direct invoke
    with another payload): a 400 that says so, rather than a guess.
    """
    context = event.get("requestContext") or {}
    http = context.get("http") or {}
    method = http.get("method")
    if not isinstance(method, str) or not method:
        raise BadRequest(
            "Not an API Gateway HTTP API payload 2.0 event: requestContext.http.method is missing",
            code="malformed_event",
        )
    path = str(event.get("rawPath") or http.get("path") or "/")
    route_key = event.get("routeKey")
    headers = {str(k).lower(): str(v) for k, v in (event.get("headers") or {}).items()}
    authorizer = context.get("authorizer")
    return Request(
        method=method.upper(),
        path=path,
        route_key=route_key if route_key and route_key != "$default" else None,
        path_params={str(k): str(v) for k, v in (event.get("pathParameters") or {}).items()},
        query=_query(event),
        headers=headers,
        body=_body(event),
        request_id=str(context.get("requestId") or request_id),
        authorizer=authorizer if isinstance(authorizer, dict) else {},
    )


def _query(event: dict[str, Any]) -> dict[str, str]:
    params = event.get("queryStringParameters")
    if params is not None:
        return {str(k): str(v) for k, v in params.items()}
    # Events built by hand may carry only the raw string; join repeated keys as API Gateway does.
    query: dict[str, str] = {}
    for key, value in parse_qsl(str(event.get("rawQueryString") or ""), keep_blank_values=True):
        query[key] = f"{query[key]},{value}" if key in query else value
    return query


def _body(event: dict[str, Any]) -> bytes | None:
    body = event.get("body")
    if body is None or body == "":
        return None
    if event.get("isBase64Encoded"):
        if len(body) > (MAX_BODY_BYTES * 4) // 3 + 4:
            raise _too_large()
        try:
            raw = base64.b64decode(body, validate=True)
        except (binascii.Error, ValueError):
            raise BadRequest("Request body is not valid base64", code="invalid_base64") from None
    else:
        raw = body.encode("utf-8")
    if len(raw) > MAX_BODY_BYTES:
        raise _too_large()
    return raw


def _too_large() -> PayloadTooLarge:
    return PayloadTooLarge(f"Request body exceeds {MAX_BODY_BYTES} bytes")


def if_match_versions(request: Request) -> set[int] | None:
    """Versions allowed by `If-Match` (strong comparison), None when absent or `*`."""
    header = request.header("if-match")
    if header is None or header.strip() == "*":
        return None
    tags = header.split(",")
    if len(header) > MAX_IF_MATCH_LENGTH or len(tags) > MAX_IF_MATCH_TAGS:
        return set()
    return {int(match.group(1)) for tag in tags if (match := _ETAG.fullmatch(tag.strip()))}


def path_segments(path: str) -> list[str]:
    """The decoded, non-empty segments of a path (`/users/a%20b/` -> ["users", "a b"])."""
    return [unquote(part) for part in path.split("/") if part]
