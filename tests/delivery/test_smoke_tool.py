"""tools/smoke.py's parts that need no deployed stack: where a bearer token comes from (the
OAuth client-credentials grant against a local token endpoint), how the mode is read from the
API's OpenAPI document, and refusing to start without what it needs."""

from __future__ import annotations

import base64
import io
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs

import pytest

from tools.smoke import SmokeError, client_credentials_token, main, token_subject


class Endpoint:
    """A loopback HTTP server answering every request with one JSON document; records requests."""

    def __init__(self, status: int, body: dict[str, Any]) -> None:
        self.requests: list[tuple[str, str, dict[str, str], bytes]] = []
        endpoint = self

        class Handler(BaseHTTPRequestHandler):
            def answer(self) -> None:
                data = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                endpoint.requests.append((self.command, self.path, dict(self.headers), data))
                payload = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            do_GET = do_POST = answer  # noqa: N815

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def token_endpoint() -> Iterator[Endpoint]:
    endpoint = Endpoint(200, {"access_token": "header.payload.signature", "token_type": "Bearer"})
    yield endpoint
    endpoint.close()


def test_client_credentials_grant_sends_the_client_and_the_admin_scope(
    token_endpoint: Endpoint,
) -> None:
    token = client_credentials_token(
        f"{token_endpoint.url}/oauth2/token", "ops-client", "s3cr:t", "users/admin", "api"
    )
    assert token == "header.payload.signature"
    [(method, path, headers, body)] = token_endpoint.requests
    assert (method, path) == ("POST", "/oauth2/token")
    assert headers["Authorization"] == "Basic " + base64.b64encode(b"ops-client:s3cr%3At").decode()
    assert headers["Content-Type"] == "application/x-www-form-urlencoded"
    assert parse_qs(body.decode()) == {
        "grant_type": ["client_credentials"],
        "scope": ["users/admin"],
        "audience": ["api"],
    }


def test_a_token_endpoint_without_a_token_is_a_clear_error() -> None:
    endpoint = Endpoint(400, {"error": "invalid_client"})
    try:
        with pytest.raises(SmokeError, match="no token from"):
            client_credentials_token(endpoint.url, "ops", "wrong", "users/admin")
    finally:
        endpoint.close()


def test_token_subject_reads_sub_and_tolerates_garbage() -> None:
    payload = base64.urlsafe_b64encode(json.dumps({"sub": "ops-1"}).encode()).rstrip(b"=")
    assert token_subject(f"e30.{payload.decode()}.sig") == "ops-1"
    assert token_subject("not-a-jwt") is None


def test_a_jwt_api_without_a_token_does_not_start_and_sends_nothing_but_the_document() -> None:
    document = {
        "openapi": "3.1.0",
        "paths": {"/users": {}},
        "components": {"securitySchemes": {"bearerAuth": {"type": "http", "scheme": "bearer"}}},
    }
    api = Endpoint(200, document)
    out = io.StringIO()
    try:
        code = main(["--url", api.url], out=out, env={})
    finally:
        api.close()
    assert code == 2
    assert out.getvalue() == ""
    assert [(m, p) for m, p, _, _ in api.requests] == [("GET", "/openapi.json")]


def test_the_url_must_be_http() -> None:
    assert main(["--url", "ftp://example.com"], out=io.StringIO(), env={}) == 2


def test_iam_signing_takes_the_region_from_aws_region(monkeypatch: pytest.MonkeyPatch) -> None:
    from tools.smoke import sigv4

    for name in ("AWS_DEFAULT_REGION", "AWS_PROFILE", "AWS_CONFIG_FILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", "/nonexistent")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "test")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "test")
    monkeypatch.setenv("AWS_REGION", "eu-west-2")

    headers = sigv4(None, "http://127.0.0.1:3000")("GET", "http://127.0.0.1:3000/hello", None, {})

    assert "/eu-west-2/execute-api/aws4_request" in headers["Authorization"]
