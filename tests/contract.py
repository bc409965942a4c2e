"""Is a response one the OpenAPI document allows? Status, headers and body, by JSON Schema.

`Contract(document).violations(method, path, status, headers, body)` lists what is wrong (empty
when the response is documented): the status must be one of the operation's responses, every
required header present and each documented header's value valid, the body valid against the
response's schema with the documented content type. A path the document does not have must be
the function's 404; a method the path does not have, its 405 with `Allow`.

Used by the unit tests' `Api` client (tests/unit/conftest.py): every response the suite sees is
checked, so the document cannot drift from what the function answers.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from functools import cache
from typing import Any

from jsonschema import Draft202012Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from tools.route_match import most_specific

DOCUMENT_URI = "urn:users-api:openapi"


def _pointer(*parts: str) -> str:
    return "/".join(part.replace("~", "~0").replace("/", "~1") for part in parts)


class Contract:
    def __init__(self, document: Mapping[str, Any]) -> None:
        self.document = document
        self._registry: Registry[Any] = Registry().with_resource(
            DOCUMENT_URI, Resource.from_contents(dict(document), default_specification=DRAFT202012)
        )

    def _validator(self, pointer: str) -> Draft202012Validator:
        return Draft202012Validator({"$ref": f"{DOCUMENT_URI}#/{pointer}"}, registry=self._registry)

    def _node(self, parts: tuple[str, ...]) -> tuple[Mapping[str, Any], tuple[str, ...]]:
        """The document's node at `parts`, following `$ref`s (and where it really is)."""
        node: Mapping[str, Any] = self.document
        for part in parts:
            node = node[part]
        while "$ref" in node:
            parts = tuple(
                p.replace("~1", "/").replace("~0", "~") for p in node["$ref"][2:].split("/")
            )
            node = self.document
            for part in parts:
                node = node[part]
        return node, parts

    def violations(
        self,
        method: str,
        path: str,
        status: int,
        headers: Mapping[str, str],
        body: str | bytes | None,
    ) -> list[str]:
        lowered = {k.lower(): v for k, v in headers.items()}
        method = method.upper()
        head = method == "HEAD"
        # The router's matcher, and the most specific path (`/users/me` before `/users/{id}`).
        found = most_specific(self.document["paths"], path)
        template = found[0] if found else None
        if template is None:
            if status != 404:
                return [f"{method} {path}: undocumented path answered {status}, not 404"]
            return self._check_response(
                ("components", "responses", "NotFound"), f"{method} {path}", lowered, body, head
            )
        item = self.document["paths"][template]
        operation_method = "get" if head else method.lower()
        if operation_method not in item:
            if status != 405:
                return [f"{method} {path}: undocumented method answered {status}, not 405"]
            return self._method_not_allowed(f"{method} {path}", lowered, body, head)
        responses = item[operation_method]["responses"]
        where = f"{method} {template} -> {status}"
        if str(status) not in responses:
            return [f"{where}: status not documented (documented: {', '.join(responses)})"]
        parts = ("paths", template, operation_method, "responses", str(status))
        return self._check_response(parts, where, lowered, body, head)

    def _method_not_allowed(
        self, where: str, headers: Mapping[str, str], body: str | bytes | None, head: bool
    ) -> list[str]:
        """A 405 (no operation documents it: its method has none): `Allow` and an `Error`."""
        problems = [] if headers.get("allow") else [f"{where}: 405 without Allow"]
        if head:
            return problems
        try:
            value = json.loads(body or b"")
        except ValueError:
            return [*problems, f"{where}: body is not JSON: {body!r:.200}"]
        validator = self._validator(_pointer("components", "schemas", "Error"))
        return problems + [f"{where}: body: {e.message}" for e in validator.iter_errors(value)]

    def _check_response(
        self,
        parts: tuple[str, ...],
        where: str,
        headers: Mapping[str, str],
        body: str | bytes | None,
        head: bool,
    ) -> list[str]:
        response, parts = self._node(parts)
        problems: list[str] = []
        for name, header in response.get("headers", {}).items():
            value = headers.get(name.lower())
            if value is None:
                if header.get("required"):
                    problems.append(f"{where}: required header {name} is missing")
                continue
            header_pointer = _pointer(*parts, "headers", name, "schema")
            for error in self._validator(header_pointer).iter_errors(value):
                problems.append(f"{where}: header {name}={value!r}: {error.message}")
        content = response.get("content")
        if head or not body:
            if content and not head:
                problems.append(f"{where}: documented with a body, answered none")
            return problems
        if not content:
            return [*problems, f"{where}: documented without a body, answered {body!r:.200}"]
        media = (headers.get("content-type") or "").split(";")[0].strip()
        if media not in content:
            return [*problems, f"{where}: content type {media!r} is not one of {list(content)}"]
        try:
            value = json.loads(body)
        except ValueError:
            return [*problems, f"{where}: body is not JSON: {body!r:.200}"]
        schema_pointer = _pointer(*parts, "content", media, "schema")
        for error in self._validator(schema_pointer).iter_errors(value):
            location = "/".join(str(p) for p in error.absolute_path) or "(body)"
            problems.append(f"{where}: body at {location}: {error.message}")
        return problems


@cache
def contract_for(mode: str) -> Contract:
    """The contract of the document the function serves in authorization `mode`."""
    from users_api import openapi
    from users_api.api import INFO, ROUTER

    return Contract(openapi.build(ROUTER, INFO, mode))
