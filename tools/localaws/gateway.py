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
- route authorization (tools/localaws/authorizers.py): each route's AuthorizationType, authorizer
  and
  scopes read from the emulator; JWT and AWS_IAM enforced as API Gateway does (401/403 with its
  bodies, preflights never authorized), the result passed on as `requestContext.authorizer`;
- the response, including the simplified format (no statusCode -> 200 JSON), cookies -> Set-Cookie,
  base64 bodies; a function error -> 500, no answer within the integration timeout -> 503;
- API Gateway's limits: 10 MB payload (413), 10,240 bytes of request line and header values
  (431); the integration timeout counted from the request's arrival, a cold start's Init
  included; one access log line per request on stderr.

Made of: gateway_http (werkzeug serves; API Gateway's header quota, payload limit and error
shape on top), gateway_config (what the emulator holds; route selection with the router's
matcher), gateway_cors, gateway_integration (event in, response out), gateway_docs (/docs, not
API Gateway), and tools/localaws/authorizers.py. This module is the request's path through them,
and the
assembly. Where it differs from API Gateway: connections are not kept alive, HTTP/1.1 only.

Run by tools/localaws/local.py; `PYTHONPATH=lambda python -m tools.localaws.gateway --help` serves
an
already-applied stack.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import platform
import re
import sys
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from email.utils import formatdate
from pathlib import Path
from typing import Any, TextIO

from werkzeug.serving import BaseWSGIServer

from tools.events import new_request_id
from tools.localaws.authorizers import Denial, Grant
from tools.localaws.emulator import ACCESS_KEY_ID, SECRET_ACCESS_KEY
from tools.localaws.gateway_config import (
    ApiConfig,
    Integration,
    Route,
    RouteMatch,
    function_arn_from_uri,
    load_api,
    load_function,
    match_route,
    package_sha256,
    unpack_package,
)
from tools.localaws.gateway_cors import CorsConfig
from tools.localaws.gateway_docs import DocsPages, swagger_ui_dir
from tools.localaws.gateway_http import (
    MAX_BODY_BYTES,
    SERVE_KWARGS,
    HttpRequest,
    HttpResponse,
    gateway_error,
    serve,
)
from tools.localaws.gateway_integration import (
    MalformedResponseError,
    build_event,
    internal_server_error,
    map_response,
)
from tools.localaws.runtime import (
    FunctionSpec,
    InitError,
    Interpreter,
    PoolBusyError,
    WorkerPool,
    find_interpreter,
)

# The modules the front is made of, re-exported: tests and tools import them from here.
__all__ = [
    "ApiConfig",
    "CorsConfig",
    "DocsPages",
    "Gateway",
    "HttpRequest",
    "HttpResponse",
    "Integration",
    "LocalGateway",
    "Route",
    "RouteMatch",
    "build_event",
    "function_arn_from_uri",
    "load_api",
    "load_function",
    "map_response",
    "match_route",
    "package_sha256",
    "start_gateway",
    "swagger_ui_dir",
    "unpack_package",
]


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
        # The integration timeout counts from the request's arrival, as API Gateway's does: the
        # body's upload, a busy pool's wait and a cold start's Init phase all spend it.
        started = request.received_at if request.received_at is not None else self.clock()
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
            if self.clock() - started > integration.timeout_ms / 1000:
                return gateway_error(503, "Service Unavailable")  # gave up before Init failed
            return internal_server_error()
        context["latency"] = f"{result.duration_ms:.0f}"
        context["status"] = "200"  # Lambda's own status: function errors are in the payload
        if self.clock() - started > integration.timeout_ms / 1000:
            # Init included: a cold start's Init is outside the function's timeout, not this one.
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

    server: BaseWSGIServer
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
    server = serve(gateway.handle, host, port)  # bind first: a taken port fails fast
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
    thread = threading.Thread(
        target=server.serve_forever, kwargs=SERVE_KWARGS, name="gateway", daemon=True
    )
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
