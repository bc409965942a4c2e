"""The local front's /docs: Swagger UI 5 from the installed assets, reading /openapi.json."""

from __future__ import annotations

import re

from tools.localaws.gateway import DocsPages, swagger_ui_dir


def test_swagger_ui_5_assets_are_installed_with_the_dev_requirements() -> None:
    assets = swagger_ui_dir()

    assert assets is not None, "swagger-ui-py (requirements-dev.txt) is not installed"
    bundle = (assets / "swagger-ui-bundle.js").read_text(errors="replace")
    versions = {int(v) for v in re.findall(r'"(\d+)\.\d+\.\d+"', bundle[:2_000_000])}
    assert 5 in versions  # Swagger UI 5: the first that renders OpenAPI 3.1


def test_docs_page_loads_the_local_assets_and_the_functions_document() -> None:
    assets = swagger_ui_dir()
    assert assets is not None
    docs = DocsPages(assets)

    page = docs.serve("/docs")
    bundle = docs.serve("/docs/swagger-ui-bundle.js")

    assert page is not None
    assert page.status == 200
    assert page.header("content-type") == "text/html; charset=utf-8"
    html = page.body.decode()
    assert 'url: "/openapi.json"' in html
    assert 'src="/docs/swagger-ui-bundle.js"' in html
    assert "https://" not in html  # no CDN: works offline
    assert bundle is not None
    assert bundle.header("content-type") == "text/javascript"
    assert bundle.body == (assets / "swagger-ui-bundle.js").read_bytes()


def test_other_paths_are_left_to_the_api() -> None:
    assets = swagger_ui_dir()
    assert assets is not None
    docs = DocsPages(assets)

    for path in ("/users", "/docs/../main.tf", "/docs/index.css.map", "/docsx", "/hello"):
        assert docs.serve(path) is None, path


def test_make_local_banner_names_the_docs_url() -> None:
    from tools.localaws.local import ready_banner

    banner = ready_banner("http://127.0.0.1:3000", "http://127.0.0.1:4566", 12.0)

    assert "http://127.0.0.1:3000/docs" in banner
    assert "http://127.0.0.1:3000/openapi.json" in banner
