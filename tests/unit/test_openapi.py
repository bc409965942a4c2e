"""The OpenAPI document: built from the route table and the models, valid 3.1, committed up to
date, agreeing with the dispatcher and Terraform's routes, served at GET /openapi.json, and never
built on a cold start that serves users."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from openapi_spec_validator import validate
from openapi_spec_validator.validation import OpenAPIV31SpecValidator

from tests.unit.conftest import Api
from users_api import openapi
from users_api.api import INFO, ROUTER
from users_api.rules import EMAIL_PATTERN

REPO = Path(__file__).resolve().parents[2]
MODES = ("NONE", "JWT", "AWS_IAM")


def terraform_route_keys() -> set[str]:
    """Terraform's routes (main.tf's local.routes): every operation of the committed openapi.json
    (tests/infra/test_drift.py compares the deployed API's routes with the dispatcher's)."""
    main = (REPO / "main.tf").read_text()
    assert 'jsondecode(file("${path.module}/openapi.json"))' in main
    return set(openapi.operations(json.loads((REPO / "openapi.json").read_text())))


def test_every_route_has_its_documentation() -> None:
    undocumented = [route.key for route in ROUTER.routes() if route.doc is None]
    assert undocumented == []


def test_committed_document_is_a_fresh_build() -> None:
    committed = (REPO / "openapi.json").read_text()

    assert committed == openapi.committed_text(ROUTER, INFO, "NONE"), (
        "openapi.json is stale: run make openapi"
    )


def test_document_operations_equal_the_dispatcher_and_terraform_routes() -> None:
    committed = json.loads((REPO / "openapi.json").read_text())
    operations = openapi.operations(committed)

    assert len(operations) == len(set(operations))
    assert set(operations) == set(ROUTER.route_keys()) == terraform_route_keys()


@pytest.mark.parametrize("mode", MODES)
def test_document_is_valid_openapi_3_1(mode: str) -> None:
    document = openapi.build(ROUTER, INFO, mode)

    validate(document, cls=OpenAPIV31SpecValidator)
    assert document["openapi"].startswith("3.1.")


def test_security_scheme_follows_the_authorization_mode() -> None:
    none, jwt, iam = (openapi.build(ROUTER, INFO, mode) for mode in MODES)

    assert "securitySchemes" not in none["components"]
    assert jwt["components"]["securitySchemes"]["bearerAuth"]["scheme"] == "bearer"
    sigv4 = iam["components"]["securitySchemes"]["sigv4"]
    assert (sigv4["type"], sigv4["in"], sigv4["name"]) == ("apiKey", "header", "Authorization")
    for document, scheme in ((jwt, "bearerAuth"), (iam, "sigv4")):
        for route in ROUTER.routes():
            operation = document["paths"][route.path][route.method.lower()]
            assert operation["security"] == ([] if route.public else [{scheme: []}])
            has_401 = "401" in operation["responses"]
            assert has_401 is not route.public, route.key
    assert all(
        "401" not in op["responses"] for item in none["paths"].values() for op in item.values()
    )


def test_schemas_come_from_the_models() -> None:
    from users_api.users import schema

    schemas = openapi.build(ROUTER, INFO)["components"]["schemas"]
    create = schema.UserCreate.model_json_schema(mode="validation")

    assert schemas["UserCreate"]["properties"]["name"] == create["properties"]["name"]
    assert schemas["UserCreate"]["additionalProperties"] is False
    assert set(schemas["User"]["properties"]) == set(schema.UserModel.model_fields)
    user_id = schemas["User"]["properties"]["user_id"]
    assert user_id["pattern"] == "^[A-Za-z0-9_-]{1,64}$"


def test_operations_document_parameters_bodies_headers_and_errors() -> None:
    paths = openapi.build(ROUTER, INFO)["paths"]
    listing = {p["name"]: p for p in paths["/users"]["get"]["parameters"]}
    limit = listing["limit"]["schema"]
    patch = paths["/users/{user_id}"]["patch"]
    create = paths["/users"]["post"]

    assert set(listing) == {"id", "email", "limit", "next_token", "created_after", "created_before"}
    assert (limit["type"], limit["minimum"], limit["maximum"]) == ("integer", 1, 100)
    assert "default" not in limit  # a generated client would send it with id or email
    assert listing["email"]["schema"]["pattern"] == EMAIL_PATTERN  # what normalise_email checks
    assert list(patch["requestBody"]["content"]) == [
        "application/merge-patch+json",
        "application/json",
    ]
    assert {p["name"] for p in patch["parameters"]} == {"user_id", "If-Match"}
    created = create["responses"]["201"]
    assert {"Location", "ETag", "Idempotent-Replayed"} <= set(created["headers"])
    assert created["links"]["GetUser"]["operationId"] == "getUser"
    assert set(patch["responses"]) == {
        "200",
        "400",
        "404",
        "409",
        "412",
        "413",
        "429",
        "500",
        "503",
    }
    assert paths["/users/{user_id}"]["delete"]["responses"]["204"].get("content") is None


def test_served_document_is_the_built_one(api: Api) -> None:
    response = api("GET", "/openapi.json")

    assert response.status == 200
    assert response.headers["Content-Type"] == "application/json"
    assert response.body == openapi.build(ROUTER, INFO, "NONE")


def test_served_document_has_the_stacks_security_scheme(
    api: Api, app: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AUTHORIZATION", "JWT")
    monkeypatch.setattr(app, "SERVICES", app.build_services())

    response = api("GET", "/openapi.json")  # public: no token needed

    assert response.status == 200
    assert "bearerAuth" in response.body["components"]["securitySchemes"]


def test_a_cold_start_that_serves_users_does_not_build_the_document() -> None:
    code = "import json, sys\nfrom users_api import api\nprint(json.dumps(sorted(sys.modules)))"
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=REPO,
        env={"PYTHONPATH": str(REPO / "lambda"), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        check=True,
    )
    loaded = set(json.loads(result.stdout))

    assert {"users_api.api", "users_api.users.routes"} <= loaded
    assert not {"users_api.openapi", "users_api.users.schema", "pydantic.main"} & loaded


def test_the_response_check_catches_what_the_document_does_not_allow() -> None:
    from tests.contract import contract_for

    contract = contract_for("NONE")
    user = {
        "user_id": "u1",
        "name": "Joy",
        "email": None,
        "created_at": "2026-01-01T00:00:00.000Z",
        "updated_at": "2026-01-01T00:00:00.000Z",
        "version": 1,
    }
    ok = {"ETag": '"1"', "Content-Type": "application/json"}

    assert contract.violations("GET", "/users/u1", 200, ok, json.dumps(user)) == []
    assert contract.violations("GET", "/users/u1", 201, ok, json.dumps(user))  # undocumented
    assert contract.violations(
        "GET", "/users/u1", 200, {"Content-Type": "application/json"}, json.dumps(user)
    )  # ETag missing
    assert contract.violations("GET", "/users/u1", 200, ok, json.dumps({**user, "version": 0}))
    assert contract.violations("DELETE", "/users/u1", 204, {}, "{}")  # a body on a 204
    assert contract.violations("POST", "/hello", 404, ok, '{"error":"x","code":"y"}')  # not 405
    assert contract.violations("GET", "/nowhere", 400, ok, '{"error":"x","code":"y"}')
