"""The local API Gateway (tools/localaws/gateway.py) and Lambda runtime
(tools/localaws/runtime.py), no emulator.

Route selection, the payload-2.0 event against AWS's documented example, response mapping and CORS
are pure functions; the gateway's error answers use a stand-in pool; the runtime runs a stand-in
handler written to a temporary directory under the current interpreter.
"""

from __future__ import annotations

import base64
import http.client
import io
import json
import socket
import threading
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tools.localaws.gateway import (
    ApiConfig,
    CorsConfig,
    Gateway,
    HttpRequest,
    Integration,
    MalformedResponseError,
    Route,
    build_event,
    function_arn_from_uri,
    load_api,
    load_function,
    map_response,
    match_route,
    package_sha256,
)
from tools.localaws.gateway_http import SERVE_KWARGS, serve
from tools.localaws.runtime import (
    InitError,
    InvokeResult,
    PoolBusyError,
)
from users_api.api import ROUTER

# The API as Terraform declares it: the dispatcher's route table plus `$default`.
CONTRACT_ROUTES = [Route(key, "integrations/abc") for key in [*ROUTER.route_keys(), "$default"]]
FUNCTION_ARN = "arn:aws:lambda:us-east-1:123456789012:function:users-api-dev-users-api"


# ------------------------------------------------------------------------------ route selection


def _route_key(routes: list[Route], method: str, path: str) -> str | None:
    match = match_route(routes, method, path)
    return match.route.route_key if match else None


@pytest.mark.parametrize(
    ("method", "path", "expected", "params"),
    [
        ("POST", "/users", "POST /users", {}),
        ("GET", "/users", "GET /users", {}),
        ("GET", "/users/01", "GET /users/{user_id}", {"user_id": "01"}),
        ("PATCH", "/users/a%20b", "PATCH /users/{user_id}", {"user_id": "a b"}),
        ("DELETE", "/users", "$default", {}),
        ("GET", "/users/01/extra", "$default", {}),
        ("GET", "/nope", "$default", {}),
        ("GET", "/", "$default", {}),
    ],
)
def test_contract_routes_match_like_api_gateway(
    method: str, path: str, expected: str, params: dict[str, str]
) -> None:
    match = match_route(CONTRACT_ROUTES, method, path)
    assert match is not None
    assert match.route.route_key == expected
    assert match.path_parameters == params


def test_the_bench_sends_the_routers_paths() -> None:
    from tools.bench.cases import ROUTE_PATHS, user_event

    assert set(ROUTE_PATHS) == {key.split(" ", 1)[1] for key in ROUTER.route_keys()}
    event = user_event("GET", "/users/u-1")
    assert (event["routeKey"], event["pathParameters"]) == (
        "GET /users/{user_id}",
        {"user_id": "u-1"},
    )


def test_exact_path_beats_path_variable_beats_greedy_path() -> None:
    routes = [Route("GET /pets/{proxy+}"), Route("GET /pets/{id}"), Route("GET /pets/dog")]
    assert _route_key(routes, "GET", "/pets/dog") == "GET /pets/dog"
    assert _route_key(routes, "GET", "/pets/cat") == "GET /pets/{id}"
    match = match_route(routes, "GET", "/pets/cat/toys/1")
    assert match is not None
    assert match.route.route_key == "GET /pets/{proxy+}"
    assert match.path_parameters == {"proxy": "cat/toys/1"}


def test_specific_method_beats_any_and_any_matches_the_rest() -> None:
    routes = [Route("ANY /users"), Route("GET /users")]
    assert _route_key(routes, "GET", "/users") == "GET /users"
    assert _route_key(routes, "DELETE", "/users") == "ANY /users"


def test_no_route_and_no_default_is_none() -> None:
    routes = [Route("GET /users/{user_id}")]
    assert match_route(routes, "GET", "/users") is None
    assert match_route(routes, "GET", "/users/") is None  # an empty variable never matches
    assert match_route(routes, "POST", "/users/01") is None


def test_integration_uri_names_the_function() -> None:
    invoke_arn = (
        f"arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/{FUNCTION_ARN}/invocations"
    )
    assert function_arn_from_uri(invoke_arn) == FUNCTION_ARN
    assert function_arn_from_uri(FUNCTION_ARN) == FUNCTION_ARN
    with pytest.raises(ValueError, match="does not name a Lambda function"):
        function_arn_from_uri("http://example.com")


# ----------------------------------------------------------------------------------- the event


def test_event_is_the_shared_builders_for_the_request_and_its_route() -> None:
    # The builder itself is tested against AWS's example in test_events.py; here: what the
    # gateway feeds it (the matched route, its parameters, the raw request).
    match = match_route(CONTRACT_ROUTES, "PATCH", "/users/a%20b")
    assert match is not None
    request = HttpRequest(
        "PATCH",
        "/users/a%20b?x=1&x=2",
        [("Content-Type", "application/merge-patch+json"), ("Cookie", "c=1"), ("X-Y", "z")],
        b'{"name": "Joy"}',
        source_ip="192.0.2.9",
    )
    event = build_event(request, match, api_id="abc123", request_id="rid", server_port=3000)

    assert event["routeKey"] == event["requestContext"]["routeKey"] == "PATCH /users/{user_id}"
    assert event["pathParameters"] == {"user_id": "a b"}
    assert (event["rawPath"], event["rawQueryString"]) == ("/users/a%20b", "x=1&x=2")
    assert event["queryStringParameters"] == {"x": "1,2"}
    assert event["cookies"] == ["c=1"]
    assert event["headers"]["x-y"] == "z"
    assert event["headers"]["x-forwarded-port"] == "3000"
    assert event["requestContext"]["requestId"] == "rid"
    assert event["requestContext"]["http"]["sourceIp"] == "192.0.2.9"
    assert event["isBase64Encoded"] is True  # merge-patch+json is not a text type for the gateway
    assert base64.b64decode(event["body"]) == b'{"name": "Joy"}'


# ------------------------------------------------------------------------------ the response


def test_full_response_maps_status_headers_cookies_and_body() -> None:
    response = map_response(
        {
            "statusCode": 201,
            "headers": {"Content-Type": "application/json", "Location": "/users/01"},
            "cookies": ["a=1; Path=/", "b=2"],
            "body": '{"user_id": "01"}',
        }
    )
    assert response.status == 201
    assert response.header("content-type") == "application/json"
    assert response.header("location") == "/users/01"
    assert [v for k, v in response.headers if k == "set-cookie"] == ["a=1; Path=/", "b=2"]
    assert json.loads(response.body) == {"user_id": "01"}


def test_base64_response_body_is_decoded() -> None:
    png = b"\x89PNG\r\n\x1a\n\x00"
    response = map_response(
        {
            "statusCode": 200,
            "headers": {"content-type": "image/png"},
            "body": base64.b64encode(png).decode(),
            "isBase64Encoded": True,
        }
    )
    assert response.body == png


def test_simplified_response_is_200_json() -> None:
    response = map_response({"message": "Hello from Lambda!"})
    assert response.status == 200
    assert response.header("content-type") == "application/json"
    assert json.loads(response.body) == {"message": "Hello from Lambda!"}
    text = map_response("Hello from Lambda!")
    assert (text.status, text.body) == (200, b"Hello from Lambda!")


def test_empty_204_has_no_body_and_no_content_type() -> None:
    response = map_response({"statusCode": 204, "headers": {}})
    assert (response.status, response.body, response.header("content-type")) == (204, b"", None)


@pytest.mark.parametrize(
    "payload",
    [
        {"statusCode": "abc"},
        {"statusCode": 99},
        {"statusCode": 200, "body": {"not": "a string"}},
        {"statusCode": 200, "headers": ["x"]},
        {"statusCode": 200, "body": "%%%", "isBase64Encoded": True},
    ],
)
def test_malformed_responses_are_rejected(payload: dict[str, Any]) -> None:
    with pytest.raises(MalformedResponseError):
        map_response(payload)


# -------------------------------------------------------------------------------------- CORS

CORS = CorsConfig.from_api(
    {
        "AllowOrigins": ["https://app.example.com"],
        "AllowMethods": ["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"],
        "AllowHeaders": ["content-type", "if-match"],
        "ExposeHeaders": ["etag", "location"],
        "MaxAge": 3600,
    }
)


def test_preflight_from_an_allowed_origin_gets_the_configuration() -> None:
    assert CORS is not None
    headers = CORS.preflight_headers("https://app.example.com", "PUT", "Content-Type, If-Match")
    assert headers["access-control-allow-origin"] == "https://app.example.com"
    assert headers["access-control-allow-methods"] == "GET,POST,PUT,PATCH,DELETE,OPTIONS"
    assert headers["access-control-allow-headers"] == "content-type,if-match"
    assert headers["access-control-max-age"] == "3600"
    assert "access-control-allow-credentials" not in headers


def test_preflight_from_another_origin_or_for_another_header_gets_no_cors_headers() -> None:
    assert CORS is not None
    assert CORS.preflight_headers("https://evil.example.com", "GET", None) == {}
    assert CORS.preflight_headers("https://app.example.com", "GET", "x-secret") == {}


def test_wildcard_origin_answers_star() -> None:
    cors = CorsConfig.from_api({"AllowOrigins": ["*"], "AllowMethods": ["*"]})
    assert cors is not None
    assert cors.response_headers("http://any.example")["access-control-allow-origin"] == "*"
    assert (
        cors.preflight_headers("http://any.example", "DELETE", None)["access-control-allow-methods"]
        == "DELETE"
    )


# ----------------------------------------------------------------- the gateway, stand-in pool


class StandInPool:
    """Answers invocations like a WorkerPool, with a canned result or exception."""

    def __init__(self, result: InvokeResult | Exception) -> None:
        self.result = result
        self.events: list[dict[str, Any]] = []

    def invoke(self, event: dict[str, Any], *, wait_s: float = 30.0) -> InvokeResult:
        self.events.append(event)
        if isinstance(self.result, Exception):
            raise self.result
        return self.result

    def close(self) -> None:
        pass


def _gateway(
    result: InvokeResult | Exception,
    routes: list[Route] | None = None,
    integration_timeout_ms: int = 30_000,
) -> tuple[Gateway, StandInPool]:
    api = ApiConfig(
        api_id="abc123",
        name="users-api-dev",
        routes=tuple(routes if routes is not None else CONTRACT_ROUTES),
        integrations={"abc": Integration("abc", FUNCTION_ARN, "2.0", integration_timeout_ms)},
        cors=CORS,
    )
    pool = StandInPool(result)
    return Gateway(api, {FUNCTION_ARN: pool}, log=io.StringIO()), pool  # type: ignore[dict-item]


OK = InvokeResult(
    "r1",
    payload={
        "statusCode": 200,
        "headers": {"content-type": "application/json", "access-control-allow-origin": "*"},
        "body": "{}",
    },
)


def test_no_route_and_no_default_route_is_api_gateways_404() -> None:
    gateway, pool = _gateway(OK, routes=[Route("GET /hello", "integrations/abc")])
    response = gateway.handle(HttpRequest("GET", "/nope", []))
    assert response.status == 404
    assert json.loads(response.body) == {"message": "Not Found"}
    assert response.header("apigw-requestid")
    assert pool.events == []


def test_function_error_is_500_and_busy_pool_is_503() -> None:
    failed = InvokeResult("r1", error={"errorType": "ValueError", "errorMessage": "boom"})
    gateway, _ = _gateway(failed)
    response = gateway.handle(HttpRequest("GET", "/hello", []))
    assert (response.status, json.loads(response.body)) == (
        500,
        {"message": "Internal Server Error"},
    )
    gateway, _ = _gateway(PoolBusyError("busy"))
    response = gateway.handle(HttpRequest("GET", "/hello", []))
    assert (response.status, json.loads(response.body)) == (503, {"message": "Service Unavailable"})


def test_function_timeout_is_500_and_integration_timeout_is_503() -> None:
    timed_out = InvokeResult(
        "r1",
        error={"errorType": "Sandbox.Timedout", "errorMessage": "Task timed out"},
        timed_out=True,
    )
    gateway, _ = _gateway(timed_out)
    assert gateway.handle(HttpRequest("GET", "/hello", [])).status == 500

    clock = [1000.0]

    class SlowPool(StandInPool):
        def invoke(self, event: dict[str, Any], *, wait_s: float = 30.0) -> InvokeResult:
            clock[0] += 0.2  # the function answers 200 ms later, past the 100 ms limit
            return OK

    gateway, _ = _gateway(OK, integration_timeout_ms=100)
    gateway.clock = lambda: clock[0]
    gateway.pools = {FUNCTION_ARN: SlowPool(OK)}  # type: ignore[dict-item]
    response = gateway.handle(HttpRequest("GET", "/hello", []))
    assert (response.status, json.loads(response.body)) == (503, {"message": "Service Unavailable"})


def test_integration_timeout_counts_from_arrival_including_a_cold_starts_init() -> None:
    clock = [1000.0]

    class ColdPool(StandInPool):
        def invoke(self, event: dict[str, Any], *, wait_s: float = 30.0) -> InvokeResult:
            clock[0] += 0.08  # Init: outside the function's timeout, inside the integration's
            clock[0] += 0.04  # the handler itself
            return InvokeResult("r1", payload=OK.payload, duration_ms=40.0, init_ms=80.0)

    gateway, _ = _gateway(OK, integration_timeout_ms=100)
    gateway.clock = lambda: clock[0]
    gateway.pools = {FUNCTION_ARN: ColdPool(OK)}  # type: ignore[dict-item]
    response = gateway.handle(HttpRequest("GET", "/hello", []))
    assert (response.status, json.loads(response.body)) == (503, {"message": "Service Unavailable"})


def test_integration_timeout_counts_from_the_requests_arrival() -> None:
    clock = [1000.0]
    gateway, pool = _gateway(OK, integration_timeout_ms=100)
    gateway.clock = lambda: clock[0]
    # The headers arrived 150 ms ago (a slow upload): the 100 ms budget is spent.
    late = HttpRequest("GET", "/hello", [], received_at=clock[0] - 0.15)
    assert gateway.handle(late).status == 503
    on_time = HttpRequest("GET", "/hello", [], received_at=clock[0] - 0.05)
    assert gateway.handle(on_time).status == 200
    assert len(pool.events) == 2


def test_init_that_outlasts_the_integration_timeout_is_503_not_500() -> None:
    clock = [1000.0]

    class FailingColdPool(StandInPool):
        def invoke(self, event: dict[str, Any], *, wait_s: float = 30.0) -> InvokeResult:
            clock[0] += 0.2  # Init ran 200 ms, then failed; the gateway gave up at 100 ms
            raise InitError("handler failed to import")

    gateway, _ = _gateway(OK, integration_timeout_ms=100)
    gateway.clock = lambda: clock[0]
    gateway.pools = {FUNCTION_ARN: FailingColdPool(OK)}  # type: ignore[dict-item]
    assert gateway.handle(HttpRequest("GET", "/hello", [])).status == 503
    clock[0] = 2000.0
    gateway.pools = {FUNCTION_ARN: StandInPool(InitError("handler failed to import"))}  # type: ignore[dict-item]
    assert gateway.handle(HttpRequest("GET", "/hello", [])).status == 500


def test_malformed_function_response_is_500() -> None:
    gateway, _ = _gateway(InvokeResult("r1", payload={"statusCode": "nope"}))
    assert gateway.handle(HttpRequest("GET", "/hello", [])).status == 500


def test_body_over_10_mb_is_413_without_invoking() -> None:
    gateway, pool = _gateway(OK)
    big = b"x" * (10 * 1024 * 1024 + 1)
    response = gateway.handle(HttpRequest("POST", "/users", [], big))
    assert response.status == 413
    assert pool.events == []


def test_cors_headers_replace_the_functions_own() -> None:
    gateway, pool = _gateway(OK)
    allowed = gateway.handle(
        HttpRequest("GET", "/users/01", [("Origin", "https://app.example.com")])
    )
    assert allowed.header("access-control-allow-origin") == "https://app.example.com"
    assert allowed.header("access-control-expose-headers") == "etag,location"
    other = gateway.handle(HttpRequest("GET", "/users/01", [("Origin", "https://evil.example")]))
    assert other.header("access-control-allow-origin") is None
    assert pool.events[0]["pathParameters"] == {"user_id": "01"}


def test_preflight_is_answered_by_the_gateway_not_the_function() -> None:
    gateway, pool = _gateway(OK)
    response = gateway.handle(
        HttpRequest(
            "OPTIONS",
            "/users",
            [("Origin", "https://app.example.com"), ("Access-Control-Request-Method", "POST")],
        )
    )
    assert response.status == 204
    assert response.header("access-control-allow-origin") == "https://app.example.com"
    assert pool.events == []
    # Without the preflight headers, OPTIONS is an ordinary request for the routes.
    gateway.handle(HttpRequest("OPTIONS", "/users", []))
    assert pool.events[0]["routeKey"] == "$default"


@pytest.fixture
def served() -> Iterator[tuple[str, int, StandInPool]]:
    gateway, pool = _gateway(OK)
    server = serve(gateway.handle, "127.0.0.1", 0)
    thread = threading.Thread(target=server.serve_forever, kwargs=SERVE_KWARGS, daemon=True)
    thread.start()
    yield "127.0.0.1", server.port, pool
    server.shutdown()
    server.server_close()


def test_http_server_answers_several_requests_and_reads_chunked_bodies(
    served: tuple[str, int, StandInPool],
) -> None:
    host, port, pool = served  # werkzeug closes each connection; http.client opens a new one
    connection = http.client.HTTPConnection(host, port, timeout=5)
    for _ in range(3):
        connection.request("GET", "/hello?x=1")
        response = connection.getresponse()
        assert (response.status, response.read()) == (200, b"{}")
    connection.request(
        "POST",
        "/users",
        body=iter([b'{"name":', b'"Joy"}']),
        headers={"Content-Type": "application/json"},  # no length: http.client sends chunks
    )
    response = connection.getresponse()
    response.read()
    assert pool.events[-1]["body"] == '{"name":"Joy"}'
    connection.request("HEAD", "/hello")
    response = connection.getresponse()
    assert (response.status, response.read()) == (200, b"")
    connection.close()


# ------------------------------------------------------------------ configuration from the emulator


class StandInApiGateway:
    """apigatewayv2's answers for one HTTP API, shaped like boto3's."""

    def get_apis(self) -> dict[str, Any]:
        return {
            "Items": [
                {
                    "ApiId": "abc123",
                    "Name": "users-api-dev",
                    "ProtocolType": "HTTP",
                    "CorsConfiguration": {"AllowOrigins": ["https://app.example.com"]},
                }
            ]
        }

    def get_routes(self, ApiId: str) -> dict[str, Any]:  # noqa: N803 - boto3's name
        return {"Items": [{"RouteKey": r.route_key, "Target": r.target} for r in CONTRACT_ROUTES]}

    def get_integrations(self, ApiId: str) -> dict[str, Any]:  # noqa: N803
        uri = (
            "arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/"
            f"{FUNCTION_ARN}/invocations"
        )
        return {
            "Items": [
                {
                    "IntegrationId": "abc",
                    "IntegrationType": "AWS_PROXY",
                    "IntegrationUri": uri,
                    "PayloadFormatVersion": "2.0",
                    "TimeoutInMillis": 10500,
                }
            ]
        }

    def get_stages(self, ApiId: str) -> dict[str, Any]:  # noqa: N803
        return {
            "Items": [
                {
                    "StageName": "$default",
                    "AccessLogSettings": {"Format": '{"id":"$context.requestId"}'},
                }
            ]
        }


def test_api_configuration_is_read_from_apigatewayv2() -> None:
    api = load_api(StandInApiGateway())
    assert api.api_id == "abc123"
    assert {r.route_key for r in api.routes} == {r.route_key for r in CONTRACT_ROUTES}
    integration = api.integration_for(api.routes[0])
    assert integration is not None
    assert (integration.function_arn, integration.timeout_ms) == (FUNCTION_ARN, 10500)
    assert api.cors is not None
    assert api.cors.allow_origins == ("https://app.example.com",)
    assert api.access_log_format == '{"id":"$context.requestId"}'


def _package(tmp_path: Path) -> Path:
    zip_path = tmp_path / "lambda.zip"
    with zipfile.ZipFile(zip_path, "w") as archive:
        archive.writestr("users_api/__init__.py", "")
        archive.writestr("users_api/app.py", "def handler(event, context):\n    return {}\n")
    return zip_path


class StandInLambda:
    def __init__(self, code_sha256: str) -> None:
        self.code_sha256 = code_sha256

    def get_function(self, FunctionName: str) -> dict[str, Any]:  # noqa: N803
        return {
            "Configuration": {
                "FunctionName": "users-api-dev-users-api",
                "FunctionArn": FunctionName,
                "Handler": "users_api.app.handler",
                "Runtime": "python3.13",
                "Timeout": 10,
                "MemorySize": 256,
                "Environment": {"Variables": {"USERS_TABLE": "users-api-dev-users"}},
                "CodeSha256": self.code_sha256,
                "PackageType": "Zip",
            }
        }


def test_function_is_read_with_its_package_checked_against_code_sha256(tmp_path: Path) -> None:
    zip_path = _package(tmp_path)
    client = StandInLambda(package_sha256(zip_path))
    spec = load_function(
        client, FUNCTION_ARN, package_zip=zip_path, cache_dir=tmp_path / "cache", region="us-east-1"
    )
    assert (spec.handler, spec.runtime, spec.timeout_s, spec.memory_mb) == (
        "users_api.app.handler",
        "python3.13",
        10,
        256,
    )
    assert spec.environment == {"USERS_TABLE": "users-api-dev-users"}
    assert (spec.code_dir / "users_api" / "app.py").is_file()

    stale = StandInLambda(base64.b64encode(b"\0" * 32).decode())
    with pytest.raises(ValueError, match="is not the package the function runs"):
        load_function(
            stale, FUNCTION_ARN, package_zip=zip_path, cache_dir=tmp_path / "c", region="us-east-1"
        )


# ------------------------------------------------------------- HTTP framing (issue 19's defects)


def _raw_exchange(host: str, port: int, raw: bytes) -> tuple[int, bytes]:
    """Send bytes as they are, half-close, and read the status line and body of the answer."""
    with socket.create_connection((host, port), timeout=5) as connection:
        connection.sendall(raw)
        connection.shutdown(socket.SHUT_WR)
        chunks = []
        while chunk := connection.recv(65536):
            chunks.append(chunk)
    answer = b"".join(chunks)
    head, _, body = answer.partition(b"\r\n\r\n")
    return int(head.split(b" ", 2)[1]), body


def _chunked_post(body: bytes) -> bytes:
    return (
        b"POST /users HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n"
        b"Transfer-Encoding: chunked\r\n\r\n" + body
    )


@pytest.mark.parametrize(
    "chunks",
    [
        pytest.param(b"-1\r\n{}\r\n0\r\n\r\n", id="negative-chunk-size"),
        pytest.param(b"a\r\n{}", id="truncated-chunk"),
        pytest.param(b"2\r\n{}XX\r\n0\r\n\r\n", id="missing-crlf-after-chunk"),
        pytest.param(b"zz\r\n{}\r\n0\r\n\r\n", id="chunk-size-not-hex"),
    ],
)
def test_malformed_chunked_body_is_400_and_never_reaches_the_function(
    served: tuple[str, int, StandInPool], chunks: bytes
) -> None:
    host, port, pool = served
    status, body = _raw_exchange(host, port, _chunked_post(chunks))
    assert status == 400
    assert json.loads(body) == {"message": "Bad Request"}
    assert pool.events == []


def test_well_formed_chunked_body_reaches_the_function(
    served: tuple[str, int, StandInPool],
) -> None:
    host, port, pool = served
    status, _ = _raw_exchange(host, port, _chunked_post(b"2\r\n{}\r\n0\r\n\r\n"))
    assert status == 200
    assert pool.events[-1]["body"] == "{}"


def test_truncated_content_length_body_is_400(served: tuple[str, int, StandInPool]) -> None:
    host, port, pool = served
    raw = b"POST /users HTTP/1.1\r\nHost: localhost\r\nContent-Length: 10\r\n\r\n{}"
    status, _ = _raw_exchange(host, port, raw)
    assert status == 400
    assert pool.events == []


def _request_with_header_value(size: int) -> bytes:
    # API Gateway's quota: request line plus header values, 10,240 bytes in all.
    line = b"GET /hello HTTP/1.1"
    host = b"localhost"
    filler = b"x" * (size - len(line) - len(host))
    return line + b"\r\nHost: " + host + b"\r\nX-Filler: " + filler + b"\r\n\r\n"


def test_request_line_and_headers_over_10240_bytes_is_431(
    served: tuple[str, int, StandInPool],
) -> None:
    host, port, pool = served
    status, body = _raw_exchange(host, port, _request_with_header_value(10_241))
    assert status == 431
    assert json.loads(body) == {"message": "Request Header Fields Too Large"}
    assert pool.events == []
    status, _ = _raw_exchange(host, port, _request_with_header_value(10_240))
    assert status == 200
    assert len(pool.events) == 1


@pytest.mark.parametrize(
    ("allowed", "origin", "expected"),
    [
        ("https://*", "https://app.example.com", "https://app.example.com"),
        ("https://*", "http://app.example.com", None),
        ("http://*", "http://localhost:5173", "http://localhost:5173"),
        ("https://app.example.com", "https://app.example.com", "https://app.example.com"),
        ("https://app.example.com", "https://app.example.com.evil.io", None),
        # Only *, https://* and http://* are wildcards on AWS; any other `*` is literal.
        ("https://app.*", "https://app.evil.io", None),
        ("https://*.example.com", "https://evil.example.com", None),
    ],
)
def test_cors_origins_match_by_aws_rules_only(
    allowed: str, origin: str, expected: str | None
) -> None:
    cors = CorsConfig.from_api({"AllowOrigins": [allowed], "AllowMethods": ["GET"]})
    assert cors is not None
    assert cors.allowed_origin(origin) == expected
