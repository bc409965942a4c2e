"""What the local front serves, read from the emulator: the HTTP API's routes, integrations,
CORS, stage and route authorization (`load_api`), and each function's configuration with its
package checked against the deployed CodeSha256 (`load_function`). Route selection as API Gateway
does it (`match_route`) lives here too, beside the routes it selects from.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import os
import re
import zipfile
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tools.localaws.authorizers import (
    RouteAuthorization,
    emulator_principals,
    load_route_authorizations,
)
from tools.localaws.emulator import ACCESS_KEY_ID, REGION, SECRET_ACCESS_KEY
from tools.localaws.emulator import ACCOUNT_ID as EMULATOR_ACCOUNT_ID
from tools.localaws.gateway_cors import CorsConfig
from tools.localaws.runtime import FunctionSpec
from tools.route_match import match_template, segments

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


def _match_path(route: Route, path: str) -> dict[str, str] | None:
    """The route's path parameters for `path`: the router's matcher, plus API Gateway's greedy
    `{proxy+}` (one or more trailing segments, joined with `/`)."""
    if not route.is_greedy:
        return match_template(route.path, path)
    parts = segments(path)
    fixed = len(route.segments) - 1
    if len(parts) <= fixed:
        return None
    params = match_template("/" + "/".join(route.segments[:fixed]), "/".join(parts[:fixed]))
    if params is None:
        return None
    return {**params, route.segments[-1][1:-2]: "/".join(parts[fixed:])}


def match_route(routes: Iterable[Route], method: str, path: str) -> RouteMatch | None:
    """The route API Gateway would pick for a request, with its path parameters.

    The most specific match wins: a path without variables, then one with variables (more literal
    segments first), then a greedy one; a route for the method before ANY; `$default` last.
    """
    method = method.upper()
    candidates: list[tuple[tuple[int, int, int], RouteMatch]] = []
    default: Route | None = None
    for route in routes:
        if route.is_default:
            default = route
            continue
        if route.method not in (method, ANY):
            continue
        params = _match_path(route, path)
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

    AWS_IAM routes accept signatures made with the emulator's credentials
    (tools/localaws/emulator.py).
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
