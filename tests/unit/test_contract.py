"""The contract checker (tests/contract.py) picks the operation a request reached."""

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
