"""Is a response one the OpenAPI document allows? Checked by openapi-core.

`Contract(document).violations(method, path, status, headers, body)` lists what is wrong (empty
when the response is documented). openapi-core's response validator does the protocol: the
status must be one of the operation's responses, every required header present and each
documented header's value valid, the body of the documented content type and valid against its
schema. It validates the response only — never the request's parameters or its `security` — so
the JWT and AWS_IAM documents are checked without credentials.

What stays ours is what openapi-core does not do or what is this API's own:
- which operation a request reached: the router's matcher (tools.route_match.most_specific,
  decoded segments, `/users/me` before `/users/{id}`) picks the template, handed to openapi-core
  as the request's `path_pattern` (its own finder also prefers fewer variables, but matches the
  raw path: `/users/a%20b`, `/users//01` are the router's to decide);
- a path the document does not have must be the function's 404 `route_not_found`, a method the
  path does not have its 405 `method_not_allowed` with `Allow`: both are written as two more
  operations in a copy of the document, so openapi-core checks them like the rest;
- HEAD is GET without the body (RFC 9110 §9.3.2): checked as GET, and any body is a violation;
- a body where the response documents none (a 204's) is a violation: openapi-core ignores it.

Used by the unit tests' `Api` client (tests/unit/conftest.py) and the HTTP suites (tests/e2e):
every response they see is checked, so the document cannot drift from what the function answers.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from functools import cache
from typing import Any

from openapi_core import Config, OpenAPI
from openapi_core.testing import MockRequest, MockResponse
from openapi_core.validation.response.exceptions import InvalidHeader, MissingData

from tools.route_match import most_specific

# The function's answers where the document has no operation, as operations of their own.
NO_ROUTE = "/(route_not_found)"
NO_METHOD = "/(method_not_allowed)"


def _no_operation(document: Mapping[str, Any]) -> dict[str, Any]:
    """`document` with NO_ROUTE's 404 and NO_METHOD's 405 (with `Allow`), both `Error`s."""
    has_error = "Error" in document.get("components", {}).get("schemas", {})
    error = {"$ref": "#/components/schemas/Error"} if has_error else {"type": "object"}

    def answer(status: str, code: str, **extra: Any) -> dict[str, Any]:
        schema = {"allOf": [error, {"properties": {"code": {"const": code}}}]}
        content = {"application/json": {"schema": schema}}
        responses = {status: {"description": code, "content": content, **extra}}
        return {"get": {"responses": responses}}

    allow = {"Allow": {"required": True, "schema": {"type": "string", "minLength": 1}}}
    extended = copy.deepcopy(dict(document))
    extended["paths"] = {
        **extended["paths"],
        NO_ROUTE: answer("404", "route_not_found"),
        NO_METHOD: answer("405", "method_not_allowed", headers=allow),
    }
    return extended


def _messages(error: Exception) -> list[str]:
    """openapi-core's error as lines: one per JSON Schema error where there are any."""
    cause = error.__cause__
    subject = f"header {error.name}" if isinstance(error, InvalidHeader) else "body"
    lines = []
    for schema_error in getattr(cause, "schema_errors", None) or ():
        at = "/".join(str(part) for part in schema_error.absolute_path)
        lines.append(f"{subject}{f' at {at}' if at else ''}: {schema_error.message}")
    return lines or [str(cause or error)]


class Contract:
    def __init__(self, document: Mapping[str, Any]) -> None:
        self.document = document
        # The document is validated as a document by tests/unit/test_openapi.py; here a part of
        # one is enough (tests/unit/test_contract.py writes paths only).
        no_check = Config(spec_validator_cls=None)
        self._openapi = OpenAPI.from_dict(_no_operation(document), config=no_check)

    def violations(
        self,
        method: str,
        path: str,
        status: int,
        headers: Mapping[str, str],
        body: str | bytes | None,
    ) -> list[str]:
        method = method.upper()
        head = method == "HEAD"
        operation_method = "get" if head else method.lower()
        found = most_specific(self.document["paths"], path)
        if found is None:
            template, where = NO_ROUTE, f"{method} {path} (no such path: the 404 route_not_found)"
            operation_method = "get"
        elif operation_method not in self.document["paths"][found[0]]:
            template, where = NO_METHOD, f"{method} {path} (no such method: the 405 with Allow)"
            operation_method = "get"
        else:
            template, where = found[0], f"{method} {found[0]} -> {status}"
        data = body.encode() if isinstance(body, str) else body or b""
        lowered = {k.lower(): v for k, v in headers.items()}
        request = MockRequest("http://localhost", operation_method, path, path_pattern=template)
        response = MockResponse(
            b"" if head else data, status, lowered, content_type=lowered.get("content-type", "")
        )
        problems = [
            f"{where}: {line}"
            for error in self._openapi.iter_response_errors(request, response)
            if not (head and isinstance(error, MissingData))
            for line in _messages(error)
        ]
        if head and data:
            problems.append(f"{where}: a HEAD answer has no body, answered {data!r:.200}")
        elif data and not self._may_have_body(template, operation_method, status):
            problems.append(f"{where}: documented without a body, answered {data!r:.200}")
        return problems

    def _may_have_body(self, template: str, method: str, status: int) -> bool:
        """False when the response is documented without content (an undocumented status is
        openapi-core's to report)."""
        response = self._openapi.spec / "paths" / template / method / "responses" / str(status)
        return not response.exists() or "content" in response


@cache
def contract_for(mode: str) -> Contract:
    """The contract of the document the function serves in authorization `mode`, made once per
    mode (openapi-core's reading of the document and its validators are reused)."""
    from users_api import openapi
    from users_api.api import INFO, ROUTER

    return Contract(openapi.build(ROUTER, INFO, mode))
