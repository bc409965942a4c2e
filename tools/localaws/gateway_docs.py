"""Swagger UI at /docs for `make local` (not part of API Gateway: the deployed API has no /docs)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from tools.localaws.gateway_http import HttpResponse

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
