"""API Gateway HTTP API emulation for `make local`, configured from what Terraform deployed.

It reads the API (routes, CORS, integrations, stage) and the function (handler, runtime,
environment, timeout, memory, package) from the emulator, and serves HTTP the way an HTTP API
does with a Lambda proxy integration and payload format 2.0:

- route selection: exact paths, then path variables `{x}`, then greedy `{proxy+}`, then `$default`;
  a specific method before ANY; no match -> 404 {"message":"Not Found"};
- CORS: preflight answered from the API's cors_configuration, CORS headers on the responses (the
  function's own CORS headers are ignored, as API Gateway does when CORS is configured);
- the event as AWS documents it (lower-case headers, repeated headers and query keys comma-joined,
  cookies, path parameters, requestContext with a fresh request id, base64 for non-text bodies);
- route authorization (tools/authorizers.py): each route's AuthorizationType, authorizer and
  scopes read from the emulator; JWT and AWS_IAM enforced as API Gateway does (401/403 with its
  bodies, preflights never authorized), the result passed on as `requestContext.authorizer`;
- the response, including the simplified format (no statusCode -> 200 JSON), cookies -> Set-Cookie,
  base64 bodies; a function error -> 500, no answer within the integration timeout -> 503;
- API Gateway's 10 MB payload limit (413), and one access log line per request on stderr.

Run by tools/local.py; `python -m tools.gateway --help` serves an already-applied stack.
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import dataclasses
import hashlib
import json
import os
import platform
import re
import sys
import threading
import time
import zipfile
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from email.utils import formatdate
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, TextIO
from urllib.parse import unquote

from tools.authorizers import (
    Denial,
    Grant,
    RouteAuthorization,
    emulator_principals,
    load_route_authorizations,
)
from tools.emulator import ACCESS_KEY_ID, REGION, SECRET_ACCESS_KEY
from tools.emulator import ACCOUNT_ID as EMULATOR_ACCOUNT_ID
from tools.events import http_api_event, new_request_id
from tools.runtime import (
    FunctionSpec,
    InitError,
    Interpreter,
    PoolBusyError,
    WorkerPool,
    find_interpreter,
)

# API Gateway's payload limit for HTTP APIs.
MAX_BODY_BYTES = 10 * 1024 * 1024
# The HTTP API's own limit on an integration (timeout_milliseconds defaults to and caps at 30 s).
DEFAULT_INTEGRATION_TIMEOUT_MS = 30_000
ANY = "ANY"
DEFAULT_ROUTE = "$default"


# ------------------------------------------------------------------------------------------- routes


@dataclass(frozen=True)
class Route:
    """One route of the API: `GET /users/{user_id}`, `ANY /{proxy+}` or `$default`."""

    route_key: str
    target: str = ""

    @property
    def method(self) -> str:
        return ANY if self.is_default else self.route_key.split(" ", 1)[0].upper()

    @property
    def path(self) -> str:
        return "" if self.is_default else self.route_key.split(" ", 1)[1]

    @property
    def is_default(self) -> bool:
        return self.route_key == DEFAULT_ROUTE

    @property
    def segments(self) -> list[str]:
        return self.path.strip("/").split("/") if self.path.strip("/") else []

    @property
    def is_greedy(self) -> bool:
        return bool(self.segments) and self.segments[-1].endswith("+}")

    @property
    def has_variables(self) -> bool:
        return any(s.startswith("{") for s in self.segments)


@dataclass(frozen=True)
class RouteMatch:
    route: Route
    path_parameters: dict[str, str]


def _match_path(route: Route, segments: Sequence[str]) -> dict[str, str] | None:
    pattern = route.segments
    params: dict[str, str] = {}
    for index, part in enumerate(pattern):
        if part.startswith("{") and part.endswith("+}"):
            rest = segments[index:]
            if not rest or not any(rest):
                return None
            params[part[1:-2]] = unquote("/".join(rest))
            return params
        if index >= len(segments):
            return None
        if part.startswith("{") and part.endswith("}"):
            if not segments[index]:
                return None
            params[part[1:-1]] = unquote(segments[index])
        elif part != segments[index]:
            return None
    return params if len(segments) == len(pattern) else None


def match_route(routes: Iterable[Route], method: str, path: str) -> RouteMatch | None:
    """The route API Gateway would pick for a request, with its path parameters.

    The most specific match wins: a path without variables, then one with variables (more literal
    segments first), then a greedy one; a route for the method before ANY; `$default` last.
    """
    method = method.upper()
    segments = path.strip("/").split("/") if path.strip("/") else []
    candidates: list[tuple[tuple[int, int, int], RouteMatch]] = []
    default: Route | None = None
    for route in routes:
        if route.is_default:
            default = route
            continue
        if route.method not in (method, ANY):
            continue
        params = _match_path(route, segments)
        if params is None:
            continue
        tier = 2 if route.is_greedy else 1 if route.has_variables else 0
        literals = sum(1 for s in route.segments if not s.startswith("{"))
        rank = (tier, -literals, 1 if route.method == ANY else 0)
        candidates.append((rank, RouteMatch(route, params)))
    if candidates:
        return min(candidates, key=lambda c: c[0])[1]
    if default is not None:
        return RouteMatch(default, {})
    return None


# --------------------------------------------------------------------------------------------- CORS


@dataclass(frozen=True)
class CorsConfig:
    """An HTTP API's cors_configuration, as get_apis returns it."""

    allow_origins: tuple[str, ...] = ()
    allow_methods: tuple[str, ...] = ()
    allow_headers: tuple[str, ...] = ()
    expose_headers: tuple[str, ...] = ()
    max_age: int | None = None
    allow_credentials: bool = False

    @classmethod
    def from_api(cls, cors: Mapping[str, Any] | None) -> CorsConfig | None:
        if not cors:
            return None
        return cls(
            allow_origins=tuple(cors.get("AllowOrigins") or ()),
            allow_methods=tuple(m.upper() for m in cors.get("AllowMethods") or ()),
            allow_headers=tuple(h.lower() for h in cors.get("AllowHeaders") or ()),
            expose_headers=tuple(h.lower() for h in cors.get("ExposeHeaders") or ()),
            max_age=cors.get("MaxAge"),
            allow_credentials=bool(cors.get("AllowCredentials")),
        )

    def allowed_origin(self, origin: str) -> str | None:
        """The Access-Control-Allow-Origin value for a request's Origin, None when not allowed."""
        for allowed in self.allow_origins:
            if allowed == "*":
                return origin if self.allow_credentials else "*"
            if allowed.endswith("*") and origin.startswith(allowed[:-1]):
                return origin
            if allowed.rstrip("/").lower() == origin.rstrip("/").lower():
                return origin
        return None

    def response_headers(self, origin: str | None) -> dict[str, str]:
        """CORS headers added to an ordinary response."""
        allowed = self.allowed_origin(origin) if origin else None
        if allowed is None:
            return {}
        headers = {"access-control-allow-origin": allowed}
        if self.allow_credentials:
            headers["access-control-allow-credentials"] = "true"
        if self.expose_headers:
            headers["access-control-expose-headers"] = ",".join(self.expose_headers)
        if allowed != "*":
            headers["vary"] = "Origin"
        return headers

    def preflight_headers(
        self, origin: str, request_method: str, request_headers: str | None
    ) -> dict[str, str]:
        """Headers of the 204 answer to a preflight; only the Vary header when it is not allowed."""
        allowed = self.allowed_origin(origin)
        method_ok = "*" in self.allow_methods or request_method.upper() in self.allow_methods
        asked = [h.strip().lower() for h in (request_headers or "").split(",") if h.strip()]
        headers_ok = "*" in self.allow_headers or all(h in self.allow_headers for h in asked)
        if allowed is None or not method_ok or not headers_ok:
            return {}
        headers = {"access-control-allow-origin": allowed}
        if self.allow_credentials:
            headers["access-control-allow-credentials"] = "true"
        methods = request_method.upper() if "*" in self.allow_methods else None
        headers["access-control-allow-methods"] = methods or ",".join(self.allow_methods)
        if asked or self.allow_headers:
            headers["access-control-allow-headers"] = (
                ",".join(asked) if "*" in self.allow_headers else ",".join(self.allow_headers)
            )
        if self.expose_headers:
            headers["access-control-expose-headers"] = ",".join(self.expose_headers)
        if self.max_age is not None:
            headers["access-control-max-age"] = str(self.max_age)
        if allowed != "*":
            headers["vary"] = "Origin"
        return headers


# -------------------------------------------------------------------------------- request -> event


@dataclass
class HttpRequest:
    """An HTTP request as the gateway received it."""

    method: str
    target: str  # the request line's target: path and query string, still percent-encoded
    headers: list[tuple[str, str]]
    body: bytes = b""
    source_ip: str = "127.0.0.1"
    protocol: str = "HTTP/1.1"

    @property
    def raw_path(self) -> str:
        return self.target.split("?", 1)[0] or "/"

    @property
    def raw_query_string(self) -> str:
        return self.target.split("?", 1)[1] if "?" in self.target else ""

    def header(self, name: str) -> str | None:
        values = [v for k, v in self.headers if k.lower() == name.lower()]
        return ",".join(values) if values else None


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


# ----------------------------------------------------------------------------- configuration


@dataclass(frozen=True)
class Integration:
    integration_id: str
    function_arn: str
    payload_format_version: str
    timeout_ms: int


@dataclass(frozen=True)
class ApiConfig:
    """What the gateway needs of one HTTP API."""

    api_id: str
    name: str
    routes: tuple[Route, ...]
    integrations: Mapping[str, Integration]
    cors: CorsConfig | None = None
    stage: str = "$default"
    access_log_format: str | None = None
    # By route key; a route missing here is open (AuthorizationType NONE).
    authorizations: Mapping[str, RouteAuthorization] = field(default_factory=dict)

    def integration_for(self, route: Route) -> Integration | None:
        return self.integrations.get(route.target.removeprefix("integrations/"))


_FUNCTION_ARN = re.compile(r"arn:aws[\w-]*:lambda:[\w-]+:\d{12}:function:[\w-]+(?::[\w$-]+)?")


def function_arn_from_uri(uri: str) -> str:
    """The function ARN inside an integration URI (a function ARN or a Lambda invoke ARN)."""
    found = _FUNCTION_ARN.search(uri)
    if not found:
        raise ValueError(f"integration URI {uri!r} does not name a Lambda function")
    return found.group(0)


def load_api(
    apigw: Any,
    *,
    api_id: str | None = None,
    name: str | None = None,
    region: str = REGION,
) -> ApiConfig:
    """Read an HTTP API (the only one, or the one with this id or name) from apigatewayv2.

    AWS_IAM routes accept signatures made with the emulator's credentials (tools/emulator.py).
    """
    apis = [a for a in apigw.get_apis().get("Items", []) if a.get("ProtocolType") == "HTTP"]
    if api_id:
        apis = [a for a in apis if a["ApiId"] == api_id]
    if name:
        apis = [a for a in apis if a["Name"] == name]
    if len(apis) != 1:
        found = ", ".join(f"{a['Name']} ({a['ApiId']})" for a in apis) or "none"
        raise LookupError(f"expected one HTTP API in the emulator, found {found}")
    api = apis[0]
    route_items = apigw.get_routes(ApiId=api["ApiId"]).get("Items", [])
    routes = tuple(Route(r["RouteKey"], r.get("Target", "")) for r in route_items)
    authorizations = load_route_authorizations(
        apigw,
        api["ApiId"],
        route_items,
        region=region,
        principals=emulator_principals(ACCESS_KEY_ID, SECRET_ACCESS_KEY, EMULATOR_ACCOUNT_ID),
    )
    integrations: dict[str, Integration] = {}
    for item in apigw.get_integrations(ApiId=api["ApiId"]).get("Items", []):
        if item.get("IntegrationType") != "AWS_PROXY":
            continue
        integrations[item["IntegrationId"]] = Integration(
            integration_id=item["IntegrationId"],
            function_arn=function_arn_from_uri(item.get("IntegrationUri", "")),
            payload_format_version=item.get("PayloadFormatVersion", "2.0"),
            timeout_ms=int(item.get("TimeoutInMillis") or DEFAULT_INTEGRATION_TIMEOUT_MS),
        )
    stages = apigw.get_stages(ApiId=api["ApiId"]).get("Items", [])
    stage = next((s for s in stages if s["StageName"] == "$default"), stages[0] if stages else {})
    return ApiConfig(
        api_id=api["ApiId"],
        name=api["Name"],
        routes=routes,
        integrations=integrations,
        cors=CorsConfig.from_api(api.get("CorsConfiguration")),
        stage=stage.get("StageName", "$default"),
        access_log_format=(stage.get("AccessLogSettings") or {}).get("Format"),
        authorizations=authorizations,
    )


def package_sha256(zip_path: Path) -> str:
    """Lambda's CodeSha256 of a zip file: base64 of its SHA-256."""
    return base64.b64encode(hashlib.sha256(zip_path.read_bytes()).digest()).decode()


def unpack_package(zip_path: Path, cache_dir: Path) -> Path:
    """Unzip a deployment package once per content hash, as Lambda does to /var/task."""
    digest = hashlib.sha256(zip_path.read_bytes()).hexdigest()[:16]
    target = cache_dir / digest
    if (target / ".complete").exists():
        return target
    partial = cache_dir / f"{digest}.partial-{os.getpid()}"
    with zipfile.ZipFile(zip_path) as archive:
        archive.extractall(partial)
    (partial / ".complete").touch()
    with contextlib.suppress(OSError):
        partial.rename(target)
    return target


def load_function(
    lambda_client: Any,
    function_arn: str,
    *,
    package_zip: Path,
    cache_dir: Path,
    region: str,
) -> FunctionSpec:
    """The function's configuration from the emulator, and its package checked by CodeSha256."""
    function = lambda_client.get_function(FunctionName=function_arn)
    config = function["Configuration"]
    if config.get("PackageType", "Zip") != "Zip":
        raise ValueError(f"function {config['FunctionName']} is not a zip package")
    if not package_zip.is_file():
        raise FileNotFoundError(f"deployment package {package_zip} not found")
    deployed = config.get("CodeSha256")
    actual = package_sha256(package_zip)
    if deployed and deployed != actual:
        raise ValueError(
            f"{package_zip} is not the package the function runs (CodeSha256 {deployed}, the file"
            f" is {actual}); apply again so the emulator holds this build"
        )
    return FunctionSpec(
        name=config["FunctionName"],
        handler=config["Handler"],
        runtime=config["Runtime"],
        timeout_s=float(config.get("Timeout", 3)),
        memory_mb=int(config.get("MemorySize", 128)),
        code_dir=unpack_package(package_zip, cache_dir),
        environment=dict((config.get("Environment") or {}).get("Variables") or {}),
        arn=config["FunctionArn"],
        version=config.get("Version", "$LATEST"),
        region=region,
        log_format=str((config.get("LoggingConfig") or {}).get("LogFormat") or "Text"),
        role=config.get("Role", ""),
    )


# --------------------------------------------------------------------- local docs (not API Gateway)

DOCS_PATH = "/docs"
_DOCS_TYPES = {".js": "text/javascript", ".css": "text/css", ".png": "image/png"}
_DOCS_FILES = ("swagger-ui-bundle.js", "swagger-ui.css", "favicon-32x32.png")
DOCS_PAGE = """<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <title>Users API (local)</title>
  <link rel="stylesheet" href="/docs/swagger-ui.css">
  <link rel="icon" type="image/png" href="/docs/favicon-32x32.png">
</head>
<body>
<div id="swagger-ui"></div>
<script src="/docs/swagger-ui-bundle.js"></script>
<script>
  window.ui = SwaggerUIBundle({
    url: "/openapi.json",
    dom_id: "#swagger-ui",
    deepLinking: true,
    displayRequestDuration: true,
  });
</script>
</body>
</html>
"""


def swagger_ui_dir() -> Path | None:
    """Swagger UI 5's assets as the dev requirements install them (PyPI swagger-ui-py), or None."""
    import importlib.util

    spec = importlib.util.find_spec("swagger_ui")  # finds it without importing its web frameworks
    if spec is None or not spec.submodule_search_locations:
        return None
    static = Path(next(iter(spec.submodule_search_locations))) / "static"
    return static if (static / "swagger-ui-bundle.js").is_file() else None


@dataclass(frozen=True)
class DocsPages:
    """Swagger UI at /docs for the API this gateway serves: a page and Swagger UI's own files.

    Not part of API Gateway (the deployed API has no /docs): the UI reads the function's own
    GET /openapi.json from the same origin, so "Try it out" calls this local API.
    """

    assets: Path

    def serve(self, path: str) -> HttpResponse | None:
        if path in (DOCS_PATH, DOCS_PATH + "/"):
            body = DOCS_PAGE.encode()
            return HttpResponse(200, [("content-type", "text/html; charset=utf-8")], body)
        name = path.removeprefix(DOCS_PATH + "/")
        if not path.startswith(DOCS_PATH + "/") or name not in _DOCS_FILES:
            return None
        media = _DOCS_TYPES[Path(name).suffix]
        return HttpResponse(200, [("content-type", media)], (self.assets / name).read_bytes())


# ------------------------------------------------------------------------------------- the gateway


class Gateway:
    """Routes requests to the functions behind an HTTP API's integrations."""

    def __init__(
        self,
        api: ApiConfig,
        pools: Mapping[str, WorkerPool],
        *,
        log: TextIO | None = None,
        port: int = 443,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.api = api
        self.pools = pools  # by function ARN
        self.log = log if log is not None else sys.stderr
        self.port = port
        self.clock = clock  # the integration timeout's clock (tests pass their own)
        self._log_lock = threading.Lock()
        self.docs: DocsPages | None = None  # `make local`'s Swagger UI at /docs (not API Gateway)

    def handle(self, request: HttpRequest) -> HttpResponse:
        started = self.clock()
        request_id = new_request_id()
        context: dict[str, Any] = {
            "routeKey": "-",
            "integrationError": "-",
            "latency": "-",
            "status": "-",
        }
        response = self._handle(request, request_id, started, context)
        response.headers.append(("apigw-requestid", request_id))
        response.headers.append(("date", formatdate(usegmt=True)))
        self._access_log(request, response, request_id, started, context)
        return response

    def _handle(
        self, request: HttpRequest, request_id: str, started: float, context: dict[str, Any]
    ) -> HttpResponse:
        if self.docs is not None and request.method.upper() in ("GET", "HEAD"):
            page = self.docs.serve(request.raw_path)
            if page is not None:
                context["routeKey"] = "(local docs)"
                return page
        if len(request.body) > MAX_BODY_BYTES:
            return gateway_error(413, "Request Entity Too Large")
        origin = request.header("origin")
        cors = self.api.cors
        request_method = request.header("access-control-request-method")
        if cors and request.method.upper() == "OPTIONS" and origin and request_method:
            headers = cors.preflight_headers(
                origin, request_method, request.header("access-control-request-headers")
            )
            return HttpResponse(204, list(headers.items()))
        path = request.raw_path
        if self.api.stage != "$default":
            prefix = f"/{self.api.stage}"
            if path != prefix and not path.startswith(prefix + "/"):
                return gateway_error(404, "Not Found")
            path = path[len(prefix) :] or "/"
        match = match_route(self.api.routes, request.method, path)
        if match is None:
            return gateway_error(404, "Not Found")
        context["routeKey"] = match.route.route_key
        authorization = self.api.authorizations.get(match.route.route_key)
        decision = authorization.check(request) if authorization else Grant(None)
        if isinstance(decision, Denial):
            context["authorizerError"] = decision.message
            denied = HttpResponse(decision.status, decision.response_headers(), decision.body)
            if cors:
                denied.headers.extend(cors.response_headers(origin).items())
            return denied
        response = self._integrate(request, match, path, decision, request_id, started, context)
        if cors:
            # With CORS configured, API Gateway ignores the integration's CORS headers.
            response.headers = [
                (k, v) for k, v in response.headers if not k.startswith("access-control-")
            ]
            response.headers.extend(cors.response_headers(origin).items())
        return response

    def _integrate(
        self,
        request: HttpRequest,
        match: RouteMatch,
        path: str,
        decision: Grant,
        request_id: str,
        started: float,
        context: dict[str, Any],
    ) -> HttpResponse:
        """The Lambda proxy integration: the event, the invocation, the mapped response."""
        integration = self.api.integration_for(match.route)
        pool = self.pools.get(integration.function_arn) if integration else None
        if integration is None or pool is None:
            context["integrationError"] = "no Lambda proxy integration for the route"
            return internal_server_error()
        event = build_event(
            request,
            match,
            api_id=self.api.api_id,
            stage=self.api.stage,
            stage_path=path if self.api.stage == "$default" else request.raw_path,
            request_id=request_id,
            now=started,
            server_port=self.port,
            authorizer=decision.context,
        )
        remaining_s = integration.timeout_ms / 1000 - (self.clock() - started)
        try:
            result = pool.invoke(event, wait_s=max(remaining_s, 0.0))
        except PoolBusyError as exc:
            context["integrationError"] = str(exc)
            return gateway_error(503, "Service Unavailable")
        except InitError as exc:
            context["integrationError"] = str(exc)
            print(f"[gateway] {exc}", file=self.log, flush=True)
            return internal_server_error()
        context["latency"] = f"{result.duration_ms:.0f}"
        context["status"] = "200"  # Lambda's own status: function errors are in the payload
        if self.clock() - started > integration.timeout_ms / 1000:
            context["integrationError"] = "integration timeout"
            return gateway_error(503, "Service Unavailable")
        if not result.ok:
            assert result.error is not None
            context["integrationError"] = result.error.get("errorMessage", "function error")
            return internal_server_error()
        try:
            return map_response(result.payload)
        except MalformedResponseError as exc:
            context["integrationError"] = f"malformed Lambda proxy response: {exc}"
            print(f"[gateway] {context['integrationError']}", file=self.log, flush=True)
            return internal_server_error()

    def _access_log(
        self,
        request: HttpRequest,
        response: HttpResponse,
        request_id: str,
        started: float,
        context: Mapping[str, Any],
    ) -> None:
        values = {
            "requestId": request_id,
            "identity.sourceIp": request.source_ip,
            "requestTime": time.strftime("%d/%b/%Y:%H:%M:%S +0000", time.gmtime(started)),
            "requestTimeEpoch": str(int(started)),
            "httpMethod": request.method.upper(),
            "path": request.raw_path,
            "routeKey": context["routeKey"],
            "status": str(response.status),
            "protocol": request.protocol,
            "responseLength": str(len(response.body)),
            "integrationErrorMessage": context["integrationError"],
            "integration.error": context["integrationError"],
            "integrationStatus": context["status"],
            "integration.status": context["status"],
            "integrationLatency": context["latency"],
            "integration.latency": context["latency"],
            "responseLatency": f"{(self.clock() - started) * 1000:.0f}",
            "apiId": self.api.api_id,
            "stage": self.api.stage,
        }
        fmt = self.api.access_log_format
        if fmt:
            line = re.sub(
                r"\$context\.([A-Za-z.]+[A-Za-z])",
                lambda m: _json_escape(values.get(m.group(1), "-")),
                fmt,
            )
        else:
            line = (
                f"{values['identity.sourceIp']} [{values['requestTime']}] "
                f'"{values["httpMethod"]} {request.target} {request.protocol}" {response.status} '
                f"{len(response.body)} {values['responseLatency']}ms {request_id}"
            )
        with self._log_lock:
            print(line, file=self.log, flush=True)

    def close(self) -> None:
        for pool in self.pools.values():
            pool.close()


def _json_escape(value: str) -> str:
    return json.dumps(value)[1:-1]


# ------------------------------------------------------------------------------------- HTTP server


class _Handler(BaseHTTPRequestHandler):
    server: GatewayServer
    protocol_version = "HTTP/1.1"

    def _serve(self) -> None:
        try:
            body = self._read_body()
        except _BodyTooLargeError:
            response = gateway_error(413, "Request Entity Too Large")
            self.close_connection = True
        except ValueError:
            response = gateway_error(400, "Bad Request")
            self.close_connection = True
        else:
            request = HttpRequest(
                method=self.command,
                target=self.path,
                headers=list(self.headers.items()),
                body=body,
                source_ip=self.client_address[0],
                protocol=self.request_version,
            )
            response = self.server.gateway.handle(request)
        self.send_response_only(response.status, HTTPStatus(response.status).phrase)
        for name, value in response.headers:
            if name not in ("content-length", "connection", "transfer-encoding"):
                self.send_header(name, value)
        self.send_header("content-length", str(len(response.body)))
        self.end_headers()
        if self.command != "HEAD" and response.body:
            self.wfile.write(response.body)

    def _read_body(self) -> bytes:
        if "chunked" in (self.headers.get("transfer-encoding") or "").lower():
            chunks: list[bytes] = []
            total = 0
            while True:
                size = int(self.rfile.readline().split(b";", 1)[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline().strip():
                        pass
                    return b"".join(chunks)
                total += size
                if total > MAX_BODY_BYTES:
                    raise _BodyTooLargeError
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
        length = int(self.headers.get("content-length") or 0)
        if length < 0:
            raise ValueError("negative content-length")
        if length > MAX_BODY_BYTES:
            raise _BodyTooLargeError
        return self.rfile.read(length) if length else b""

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_OPTIONS = do_HEAD = _serve  # noqa: N815

    def __getattr__(self, name: str) -> Any:
        # Any other method (TRACE, QUERY...) is routed too, so `$default` sends it to the function
        # (405 + Allow), rather than http.server answering 501. How API Gateway treats methods
        # outside its own list is not emulated.
        if name.startswith("do_"):
            return self._serve
        raise AttributeError(name)

    def log_message(self, format: str, *args: Any) -> None:
        # The gateway writes its own access log; keep http.server's lines for its errors only.
        if args and str(args[0]).isdigit():
            return
        super().log_message(format, *args)


class _BodyTooLargeError(Exception):
    pass


class GatewayServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128

    def __init__(self, address: tuple[str, int], gateway: Gateway) -> None:
        self.gateway = gateway
        super().__init__(address, _Handler)


# ---------------------------------------------------------------------------------------- assembly


def prepare_runtime(
    spec: FunctionSpec, interpreter: Interpreter, local_dir: Path, log: TextIO
) -> tuple[FunctionSpec, list[Path]]:
    """What the function's Python needs beside the package: the SDK the Lambda runtime provides.

    Under the runtime's own Python: boto3/botocore installed once for it (tools/build.py). As a
    fallback under the current interpreter, which has boto3: the same code with dependencies built
    for that interpreter, since the deployed package's compiled modules would not import.
    """
    from tools import build

    if interpreter.fallback_reason is None:
        deps = local_dir / "runtime-deps" / f"python{interpreter.version}"
        return spec, [build.install_runtime_deps(interpreter.version, deps)]
    print(f"==> note: {interpreter.fallback_reason}", file=log, flush=True)
    machine = platform.machine().lower()
    architecture = "arm64" if machine in ("aarch64", "arm64") else "x86_64"
    out = local_dir / f"fallback-build-python{interpreter.version}"
    build.build(build.target_for(f"python{interpreter.version}", architecture), out)
    return dataclasses.replace(spec, code_dir=out / "package"), []


@dataclass
class LocalGateway:
    """A started gateway: the HTTP server on its thread, and the functions' worker pools."""

    server: GatewayServer
    gateway: Gateway
    thread: threading.Thread
    interpreter: Interpreter

    @property
    def url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host!s}:{port}"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.gateway.close()


def start_gateway(
    *,
    endpoint_url: str,
    package_zip: Path,
    cache_dir: Path,
    host: str = "127.0.0.1",
    port: int = 3000,
    region: str = "us-east-1",
    api_id: str | None = None,
    sdk_paths: Sequence[Path] | None = None,
    interpreter: Interpreter | None = None,
    max_workers: int = 8,
    log: TextIO | None = None,
    docs: bool = True,
) -> LocalGateway:
    """Read the API and its function from the emulator, warm one worker, and serve on host:port.

    sdk_paths: where the runtime's boto3 is for the function's Python (None: install it once
    under cache_dir's parent, see prepare_runtime). docs: serve Swagger UI at /docs when its
    assets are installed (see DocsPages). Raises InitError when the handler does not
    import, LookupError/ValueError when the deployed configuration cannot be served, OSError
    when the port is taken.
    """
    import boto3

    # The emulator's administrator (it enforces IAM); the function gets its own role's keys.
    session = boto3.Session(
        aws_access_key_id=ACCESS_KEY_ID, aws_secret_access_key=SECRET_ACCESS_KEY, region_name=region
    )
    apigw = session.client("apigatewayv2", endpoint_url=endpoint_url)
    lambda_client = session.client("lambda", endpoint_url=endpoint_url)
    api = load_api(apigw, api_id=api_id, region=region)
    log = log if log is not None else sys.stderr
    pools: dict[str, WorkerPool] = {}
    gateway = Gateway(api, pools, log=log, port=port)
    assets = swagger_ui_dir() if docs else None
    gateway.docs = DocsPages(assets) if assets is not None else None
    server = GatewayServer((host, port), gateway)  # bind first: a taken port fails fast
    try:
        for integration in api.integrations.values():
            if integration.function_arn in pools:
                continue
            if integration.payload_format_version != "2.0":
                raise ValueError(
                    f"integration {integration.integration_id} uses payload format "
                    f"{integration.payload_format_version}; this gateway speaks 2.0"
                )
            spec = load_function(
                lambda_client,
                integration.function_arn,
                package_zip=package_zip,
                cache_dir=cache_dir,
                region=region,
            )
            chosen = interpreter or find_interpreter(spec.runtime)
            if sdk_paths is None:
                spec, function_sdk = prepare_runtime(spec, chosen, cache_dir.parent, log)
            else:
                function_sdk = list(sdk_paths)
            pool = WorkerPool(
                spec,
                chosen,
                sdk_paths=function_sdk,
                endpoint_url=endpoint_url,
                max_workers=max_workers,
                log=log,
            )
            pools[integration.function_arn] = pool
            pool.warm()
    except BaseException:
        server.server_close()
        gateway.close()
        raise
    thread = threading.Thread(target=server.serve_forever, name="gateway", daemon=True)
    thread.start()
    first = next(iter(pools.values()), None)
    return LocalGateway(
        server, gateway, thread, first.interpreter if first else find_interpreter("python3.13")
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Serve an applied HTTP API like API Gateway.")
    parser.add_argument("--endpoint-url", default="http://127.0.0.1:4566")
    parser.add_argument("--package", type=Path, required=True, help="the deployed zip")
    parser.add_argument("--cache-dir", type=Path, default=Path(".local/runtime"))
    parser.add_argument("--port", type=int, default=3000)
    parser.add_argument("--region", default="us-east-1")
    parser.add_argument("--sdk-path", type=Path, action="append", default=[])
    args = parser.parse_args(argv)
    local = start_gateway(
        endpoint_url=args.endpoint_url,
        package_zip=args.package,
        cache_dir=args.cache_dir,
        port=args.port,
        region=args.region,
        sdk_paths=args.sdk_path,
    )
    print(f"serving {local.url}", file=sys.stderr)
    try:
        local.thread.join()
    except KeyboardInterrupt:
        pass
    finally:
        local.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
