"""The contract checker (tests/contract.py): the operation a request reached, and the answers of
our own around openapi-core (undocumented paths and methods, HEAD, content types)."""

from __future__ import annotations

from typing import Any

from tests.contract import Contract


def _document(*paths: str) -> dict[str, Any]:
    """A document whose paths answer 200 with different schemas, in the order given."""
    schemas = {
        "/users/{user_id}": {"type": "object", "required": ["user_id"]},
        "/users/me": {"type": "object", "required": ["me"]},
    }
    return {
        "openapi": "3.1.0",
        "paths": {
            path: {
                "get": {
                    "responses": {
                        "200": {"content": {"application/json": {"schema": schemas[path]}}}
                    }
                }
            }
            for path in paths
        },
    }


def test_the_most_specific_path_is_checked_not_the_first_listed() -> None:
    contract = Contract(_document("/users/{user_id}", "/users/me"))
    headers = {"content-type": "application/json"}
    assert contract.violations("GET", "/users/me", 200, headers, '{"me": true}') == []
    assert contract.violations("GET", "/users/01", 200, headers, '{"user_id": "01"}') == []
    wrong = contract.violations("GET", "/users/me", 200, headers, '{"user_id": "me"}')
    assert wrong
    assert "GET /users/me -> 200" in wrong[0]


def test_an_undocumented_path_or_method_must_be_the_functions_own_404_or_405() -> None:
    from tests.contract import contract_for

    contract = contract_for("NONE")
    json_type = {"content-type": "application/json"}
    no_route = '{"error": "No route", "code": "route_not_found"}'
    assert contract.violations("GET", "/nowhere", 404, json_type, no_route) == []
    assert contract.violations("GET", "/nowhere", 404, json_type, '{"error": "x", "code": "y"}')
    assert contract.violations("GET", "/nowhere", 404, json_type, '{"message": "Not Found"}')

    allow = {**json_type, "allow": "GET, HEAD"}
    no_method = '{"error": "No", "code": "method_not_allowed", "allowed": ["GET", "HEAD"]}'
    assert contract.violations("POST", "/hello", 405, allow, no_method) == []
    missing_allow = contract.violations("POST", "/hello", 405, json_type, no_method)
    assert any("Allow" in line for line in missing_allow)


def test_head_is_checked_as_get_without_a_body() -> None:
    from tests.contract import contract_for

    contract = contract_for("NONE")
    headers = {"content-type": "application/json", "etag": '"1"'}
    assert contract.violations("HEAD", "/users/u1", 200, headers, "") == []
    assert contract.violations("HEAD", "/users/u1", 200, {}, "")  # ETag is still required
    assert contract.violations("HEAD", "/users/u1", 200, headers, '{"user_id": "u1"}')


def test_a_body_must_be_json_of_the_documented_content_type() -> None:
    contract = Contract(_document("/users/me"))
    body = '{"me": true}'
    assert contract.violations("GET", "/users/me", 200, {"content-type": "text/plain"}, body)
    assert contract.violations("GET", "/users/me", 200, {"content-type": "application/json"}, "{")
    assert contract.violations("GET", "/users/me", 200, {"content-type": "application/json"}, "")
