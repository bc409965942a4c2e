"""CORS as an HTTP API answers it, for the local front (tools/localaws/gateway.py).

API Gateway answers a preflight (OPTIONS with Origin and Access-Control-Request-Method) itself
from the API's cors_configuration, adds the CORS headers to the integration's responses and drops
the integration's own. An allowed origin is one of the configured origins exactly, or a
configured `*` (any origin), `https://*` (any https origin) or `http://*` (any http origin): the
only wildcards AWS documents ("Configuring CORS for an HTTP API"); a `*` anywhere else is literal.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

# The origin wildcards AWS accepts, and the prefix each stands for ("*": every origin).
ORIGIN_WILDCARDS = {"*": "", "https://*": "https://", "http://*": "http://"}


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
            prefix = ORIGIN_WILDCARDS.get(allowed)
            if prefix and origin.lower().startswith(prefix) and len(origin) > len(prefix):
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
