"""HTTP for the local front (tools/localaws/gateway.py): werkzeug serves, we add API Gateway's
limits.

werkzeug's threaded server parses the request line, the headers and chunked bodies (a negative,
non-hex or truncated chunk size and a chunk without its CRLF are errors there, not ours), and
`werkzeug.wsgi.get_input_stream` bounds a body by Content-Length or by the payload limit. What
this module adds is what an HTTP API does on top, in API Gateway's own error shape:

- the 10,240-byte quota on the request line plus the header values ("Total combined size of
  request line and header values", HTTP API quotas): 431 `{"message":"Request Header Fields Too
  Large"}`. AWS documents the limit, not the status; 431 is RFC 6585's answer for it;
- the 10 MB payload limit: 413 `{"message":"Request Entity Too Large"}`, before the body is read
  when Content-Length says so, as soon as a chunked body passes it otherwise;
- a body that is malformed or shorter than its Content-Length: 400 `{"message":"Bad Request"}`.

Where it differs from API Gateway: werkzeug's development server closes the connection after
each response (API Gateway keeps it alive), and speaks HTTP/1.1 only.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from werkzeug.exceptions import BadRequest, RequestEntityTooLarge
from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server
from werkzeug.wsgi import get_input_stream

# API Gateway's payload limit for HTTP APIs.
MAX_BODY_BYTES = 10 * 1024 * 1024
# HTTP API quota: the request line and the header values together.
MAX_REQUEST_LINE_AND_HEADERS_BYTES = 10_240


@dataclass
class HttpRequest:
    """An HTTP request as the gateway received it."""

    method: str
    target: str  # the request line's target: path and query string, still percent-encoded
    headers: list[tuple[str, str]]
    body: bytes = b""
    source_ip: str = "127.0.0.1"
    protocol: str = "HTTP/1.1"
    # When its headers arrived (epoch seconds): the integration timeout counts from here.
    received_at: float | None = None

    @property
    def raw_path(self) -> str:
        return self.target.split("?", 1)[0] or "/"

    @property
    def raw_query_string(self) -> str:
        return self.target.split("?", 1)[1] if "?" in self.target else ""

    def header(self, name: str) -> str | None:
        values = [v for k, v in self.headers if k.lower() == name.lower()]
        return ",".join(values) if values else None


@dataclass
class HttpResponse:
    """What goes back to the client."""

    status: int
    headers: list[tuple[str, str]] = field(default_factory=list)
    body: bytes = b""

    def header(self, name: str) -> str | None:
        values = [v for k, v in self.headers if k.lower() == name.lower()]
        return ",".join(values) if values else None


def gateway_error(status: int, message: str) -> HttpResponse:
    """API Gateway's own error answer: `{"message": ...}` as JSON."""
    body = json.dumps({"message": message}).encode()
    return HttpResponse(status, [("content-type", "application/json")], body)


Handle = Callable[[HttpRequest], HttpResponse]


def request_line_and_header_values_size(request_line: str, values: list[str]) -> int:
    """What the HTTP API quota counts: the request line and every header value, in bytes."""
    return len(request_line.encode("latin-1", "replace")) + sum(
        len(value.encode("latin-1", "replace")) for value in values
    )


class QuietHandler(WSGIRequestHandler):
    """werkzeug's request handler without its per-request log line (the servers here log their own,
    or are stand-ins that should not log at all)."""

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        pass


class _Handler(QuietHandler):
    """werkzeug's handler, with the header quota checked before the application runs."""

    def parse_request(self) -> bool:
        if not super().parse_request():
            return False
        size = request_line_and_header_values_size(self.requestline, list(self.headers.values()))
        if size > MAX_REQUEST_LINE_AND_HEADERS_BYTES:
            self._refuse(gateway_error(431, "Request Header Fields Too Large"))
            return False
        return True

    def _refuse(self, response: HttpResponse) -> None:
        self.close_connection = True
        self.send_response_only(response.status)
        for name, value in response.headers:
            self.send_header(name, value)
        self.send_header("content-length", str(len(response.body)))
        self.send_header("connection", "close")
        self.end_headers()
        self.wfile.write(response.body)

    def make_environ(self) -> Any:
        environ = super().make_environ()
        # What the WSGI environ loses: header order, case and repetition, the raw target.
        environ["gateway.headers"] = list(self.headers.items())
        environ["gateway.target"] = self.path
        environ["gateway.received_at"] = time.time()
        return environ

    def send_response(self, code: int, message: str | None = None) -> None:
        # The gateway writes its own Date and no Server header (and its own access log).
        self.send_response_only(code, message)


def read_request(environ: dict[str, Any]) -> HttpRequest | HttpResponse:
    """The request werkzeug parsed, with its body; API Gateway's 400/413 when it cannot be read."""
    try:
        body = get_input_stream(environ, max_content_length=MAX_BODY_BYTES).read()
    except RequestEntityTooLarge:
        return gateway_error(413, "Request Entity Too Large")
    except (BadRequest, OSError, ValueError):  # ClientDisconnected (short body) is a BadRequest
        return gateway_error(400, "Bad Request")
    return HttpRequest(
        method=environ["REQUEST_METHOD"],
        target=environ["gateway.target"],
        headers=environ["gateway.headers"],
        body=body,
        source_ip=environ.get("REMOTE_ADDR") or "127.0.0.1",
        protocol=environ.get("SERVER_PROTOCOL") or "HTTP/1.1",
        received_at=environ["gateway.received_at"],
    )


def wsgi_application(handle: Handle) -> Callable[..., list[bytes]]:
    """The WSGI application around the gateway's `handle(request) -> response`."""

    def application(environ: dict[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
        request = read_request(environ)
        response = request if isinstance(request, HttpResponse) else handle(request)
        headers = [
            (name, value)
            for name, value in response.headers
            if name.lower() not in ("content-length", "connection", "transfer-encoding")
        ]
        headers.append(("content-length", str(len(response.body))))
        start_response(f"{response.status} {_reason(response.status)}", headers)
        return [] if environ["REQUEST_METHOD"] == "HEAD" else [response.body]

    return application


def _reason(status: int) -> str:
    from http import HTTPStatus

    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Unknown"


# serve_forever's arguments: shutdown() waits up to one poll interval (0.5 s by default).
SERVE_KWARGS = {"poll_interval": 0.05}


def serve(handle: Handle, host: str, port: int) -> BaseWSGIServer:
    """A bound, threaded werkzeug server for `handle`; run `serve_forever()` on a thread."""
    return make_server(
        host, port, wsgi_application(handle), threaded=True, request_handler=_Handler
    )
