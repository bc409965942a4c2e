"""An OpenAPI 3.1 document, built from a composed router (`build(router, info, mode)`).

Nothing here names a resource or is written by hand twice: the operations come from the router's
routes and the `routing.Doc` each carries (summary, body, statuses, parameters, `Location`,
`ETag`, links, tag), the schemas and parameters from the routers' `Components` (pydantic's
`models_json_schema`, `$defs` as `components/schemas`), the title and description from the
`ApiInfo` the API gives, and the security scheme from the authorization mode (env AUTHORIZATION).
The router is an argument, as Starlette's schema generator takes the routes: no router imports
this module at import time.

Served by `GET /openapi.json` (users_api.api), built on its first request: importing this module
imports pydantic and the models, which a cold start that serves the API never pays for. `make
openapi` (`python -m tools.openapi`) writes the committed openapi.json; tests/unit/test_openapi.py
fails when that file, the route table and Terraform's routes disagree.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Mapping
from typing import Any, Final

from pydantic import BaseModel, ConfigDict, Field
from pydantic.json_schema import JsonSchemaMode, SkipJsonSchema, models_json_schema

from users_api.http import MAX_BODY_BYTES
from users_api.idempotency import VALID_KEY
from users_api.routing import ApiInfo, Components, Doc, Route, Router

OPENAPI_VERSION: Final = "3.1.0"
API_VERSION: Final = "1.0.0"
JSON: Final = "application/json"
MERGE_PATCH: Final = "application/merge-patch+json"
SCHEMAS: Final = "#/components/schemas/"
RESPONSES: Final = "#/components/responses/"
ETAG_PATTERN: Final = r'^"[1-9][0-9]*"$'

# -- schemas that are not client input: what the function (and API Gateway) answer --------------


class FieldError(BaseModel):
    """One bad field of a `validation_error`."""

    model_config = ConfigDict(extra="forbid")

    field: str = Field(description="The field or query parameter, e.g. `email`, or `body`")
    message: str
    type: str = Field(description="pydantic's error type, e.g. `missing`, `string_too_long`")


def _absent_not_null(schema: dict[str, Any]) -> None:
    """Optional details are absent when unused, never null: no `default: null` either."""
    for field_schema in schema.get("properties", {}).values():
        if field_schema.get("default", 0) is None:
            del field_schema["default"]


class Error(BaseModel):
    """Every error the function answers: a message for people, a code for programs.

    Some codes carry details: `validation_error` the bad `fields`; a conflict with a stored
    item the conflicting `field`; `precondition_failed` the `current_version`;
    `method_not_allowed` the `allowed` methods; `internal_error` the `request_id`.
    """

    model_config = ConfigDict(extra="forbid", json_schema_extra=_absent_not_null)

    error: str = Field(description="What went wrong, for people")
    code: str = Field(
        description="What went wrong, for programs, e.g. `validation_error`,"
        " `route_not_found`, `concurrent_update`, `unavailable`, or a resource's own code"
    )
    # Present only with the codes above (absent, never null).
    fields: list[FieldError] | SkipJsonSchema[None] = None
    field: str | SkipJsonSchema[None] = None
    current_version: int | SkipJsonSchema[None] = None
    allowed: list[str] | SkipJsonSchema[None] = None
    request_id: str | SkipJsonSchema[None] = None


class GatewayError(BaseModel):
    """An answer of API Gateway itself (throttling, its own limits, an authorizer's refusal)."""

    model_config = ConfigDict(extra="forbid")

    message: str


class OpenApiDocument(BaseModel):
    """An OpenAPI 3.1 document (this one)."""

    model_config = ConfigDict(extra="allow")

    openapi: str
    info: dict[str, Any]
    paths: dict[str, Any]


# Schemas every document has, whichever routers it describes.
_COMMON_SCHEMAS: Final[dict[str, tuple[type[BaseModel], JsonSchemaMode]]] = {
    "Error": (Error, "serialization"),
    "GatewayError": (GatewayError, "serialization"),
    "OpenApiDocument": (OpenApiDocument, "serialization"),
}

HEADER_PARAMETERS: Final[dict[str, dict[str, Any]]] = {
    "Idempotency-Key": {
        "description": "Makes the create safe to retry: the same key and body within 24 hours"
        " answers as the first request did (with `Idempotent-Replayed: true`)",
        "schema": {"type": "string", "pattern": f"^{VALID_KEY.pattern}$"},
    },
    "If-Match": {
        "description": "Change only if the current version is one of these entity tags (the"
        ' `ETag` of a read, e.g. `"3"`), or `*`; otherwise 412',
        "schema": {"type": "string"},
    },
}

# -- responses --------------------------------------------------------------------------------

_X_REQUEST_ID: Final = {
    "description": "The request's id (API Gateway's), also in the function's log line",
    "schema": {"type": "string"},
}
_RETRY_AFTER: Final = {
    "description": "Seconds to wait before retrying",
    "schema": {"type": "string", "pattern": "^[0-9]+$"},
}
_ETAG: Final = {
    "description": 'The version as an entity tag, e.g. `"3"`: send it as `If-Match`',
    "schema": {"type": "string", "pattern": ETAG_PATTERN},
}

# Status -> (description, the body may be API Gateway's own error too).
_ERRORS: Final[dict[int, tuple[str, bool]]] = {
    400: (
        "Bad request: invalid JSON or parameters (`validation_error` lists the bad fields)",
        False,
    ),
    401: ("No valid identity (a missing or invalid token or signature)", True),
    403: ("The caller may not do this", True),
    404: ("No such item (the resource's own code)", False),
    409: (
        "Conflict: the resource's own codes, or retry later (`concurrent_update`,"
        " `idempotency_key_in_use`, with `Retry-After`)",
        False,
    ),
    412: ("`If-Match` does not match the current version (`current_version` says which)", False),
    413: (f"The body is larger than {MAX_BODY_BYTES} bytes", True),
    422: (
        "Well formed but not processable: an `Idempotency-Key` used with another body"
        " (`idempotency_key_reused`), or the resource's own codes",
        False,
    ),
    429: ("Too many requests (API Gateway's throttling)", True),
    500: ("Internal error", True),
    503: ("The store is busy or the request ran out of time: retry after `Retry-After`", True),
}
# Every route can answer these: an unreadable body (any route reads it), too large, throttled.
_EVERY_ROUTE: Final = (400, 413, 429, 500)
# Routes that need a caller, when authorization is on.
_AUTHENTICATED: Final = (401, 403)


def _error_responses(mode: str) -> dict[str, Any]:
    responses: dict[str, Any] = {}
    for status, (description, gateway_too) in _ERRORS.items():
        if status == 429:
            schema: dict[str, Any] = {"$ref": f"{SCHEMAS}GatewayError"}
        elif gateway_too:
            schema = {"anyOf": [{"$ref": f"{SCHEMAS}Error"}, {"$ref": f"{SCHEMAS}GatewayError"}]}
        else:
            schema = {"$ref": f"{SCHEMAS}Error"}
        headers: dict[str, Any] = {"X-Request-Id": _X_REQUEST_ID}
        if status in (409, 503):
            headers["Retry-After"] = _RETRY_AFTER
        if status == 401 and mode == "JWT":
            headers["WWW-Authenticate"] = {
                "description": "`Bearer`: send a valid token",
                "schema": {"type": "string"},
            }
        responses[str(status)] = {
            "description": description,
            "headers": headers,
            "content": {JSON: {"schema": schema}},
        }
    # No 405 here: no operation answers it (the method it would be for has none); the info
    # description says what another method on a known path gets.
    return responses


def _success(
    status: int, schema_name: str | None, doc: Doc, path_params: Mapping[str, Any]
) -> dict[str, Any]:
    response: dict[str, Any] = {"description": _SUCCESS[status]}
    headers: dict[str, Any] = {"X-Request-Id": _X_REQUEST_ID}
    if doc.etag and schema_name is not None:
        headers["ETag"] = {**_ETAG, "required": doc.etag == "required"}
    if status == 201 and doc.location is not None:
        headers["Location"] = {
            "description": "The new item's URL",
            "required": True,
            "schema": {"type": "string", "pattern": _location_pattern(doc.location, path_params)},
        }
        headers["Idempotent-Replayed"] = {
            "description": "`true` when this is the stored answer to an earlier request with"
            " the same Idempotency-Key",
            "schema": {"type": "string", "enum": ["true"]},
        }
    response["headers"] = headers
    if schema_name is not None:
        response["content"] = {JSON: {"schema": {"$ref": f"{SCHEMAS}{schema_name}"}}}
    if doc.links and schema_name is not None:
        response["links"] = {
            name: {
                "operationId": operation,
                "parameters": {parameter: f"$response.body#/{member}"},
            }
            for name, (operation, parameter, member) in doc.links.items()
        }
    return response


_SUCCESS: Final = {200: "OK", 201: "Created", 204: "Deleted (no body)"}


def _location_pattern(template: str, path_params: Mapping[str, Any]) -> str:
    """A `Location` template's pattern: each `{name}` as its path parameter's pattern."""
    parts = []
    for segment in template.strip("/").split("/"):
        if segment.startswith("{") and segment.endswith("}"):
            pattern = path_params[segment[1:-1]]["schema"]["pattern"]
            parts.append(pattern.removeprefix("^").removesuffix("$"))
        else:
            parts.append(re.escape(segment))
    return "^/" + "/".join(parts) + "$"


# -- operations -------------------------------------------------------------------------------


def operation_id(route: Route[Any]) -> str:
    """The handler's name in camelCase: `create_item` -> `createItem`."""
    first, *rest = route.handler.__name__.split("_")
    return first + "".join(word.capitalize() for word in rest)


def _doc(route: Route[Any]) -> Doc:
    if route.doc is None:
        raise LookupError(f"route {route.key} has no Doc: the OpenAPI document needs one")
    return route.doc


def _operation(route: Route[Any], mode: str, parts: Components) -> dict[str, Any]:
    doc = _doc(route)
    operation: dict[str, Any] = {
        "operationId": operation_id(route),
        "summary": doc.summary,
    }
    if doc.tag:
        operation["tags"] = [doc.tag]
    if doc.description:
        operation["description"] = doc.description
    parameters: list[dict[str, Any]] = []
    for segment in route.segments:
        if segment.startswith("{") and segment.endswith("}"):
            name = segment[1:-1]
            parameters.append(
                {
                    "name": name,
                    "in": "path",
                    "required": True,
                    **parts.path[name],
                }
            )
    parameters += [{"name": n, "in": "query", **parts.query[n]} for n in doc.query]
    parameters += [{"name": n, "in": "header", **HEADER_PARAMETERS[n]} for n in doc.headers]
    if parameters:
        operation["parameters"] = parameters
    if doc.body is not None:
        media = [MERGE_PATCH, JSON] if route.method == "PATCH" else [JSON]
        schema = {"$ref": f"{SCHEMAS}{doc.body}"}
        operation["requestBody"] = {
            "required": True,
            "content": {m: {"schema": schema} for m in media},
        }
    responses: dict[str, Any] = {
        str(status): _success(status, name, doc, parts.path)
        for status, name in doc.responses.items()
    }
    errors = set(_EVERY_ROUTE) | set(doc.errors)
    if mode != "NONE" and not route.public:
        errors |= set(_AUTHENTICATED)
    for status in sorted(errors):
        responses[str(status)] = {"$ref": f"{RESPONSES}{_ERROR_NAMES[status]}"}
    operation["responses"] = responses
    # `[]` marks a public route in every mode (Terraform's routes read the mark); with
    # authorization on, every other route names the scheme. With NONE they inherit the
    # document's own `security: []` (build): no tool has to guess, and no route looks public.
    if route.public:
        operation["security"] = []
    elif mode != "NONE":
        operation["security"] = [{_SECURITY_NAMES[mode]: []}]
    return operation


_ERROR_NAMES: Final = {
    400: "BadRequest",
    401: "Unauthorized",
    403: "Forbidden",
    404: "NotFound",
    409: "Conflict",
    412: "PreconditionFailed",
    413: "PayloadTooLarge",
    422: "UnprocessableContent",
    429: "TooManyRequests",
    500: "InternalError",
    503: "ServiceUnavailable",
}
_SECURITY_NAMES: Final = {"JWT": "bearerAuth", "AWS_IAM": "sigv4"}


def _security_schemes(mode: str) -> dict[str, Any]:
    if mode == "JWT":
        return {
            "bearerAuth": {
                "type": "http",
                "scheme": "bearer",
                "bearerFormat": "JWT",
                "description": "A JWT from the API's issuer (API Gateway's JWT authorizer checks"
                " it); its `sub` names the caller, its admin scope allows everything",
            }
        }
    return {
        "sigv4": {
            # OpenAPI has no SigV4 scheme: API Gateway's own extension marks it, as AWS exports do.
            "type": "apiKey",
            "in": "header",
            "name": "Authorization",
            "description": "AWS Signature Version 4 (service `execute-api`), with the"
            " `X-Amz-Date` and, for temporary credentials, `X-Amz-Security-Token` headers;"
            " IAM policies on the route ARNs decide who may call what",
            "x-amazon-apigateway-authtype": "awsSigv4",
        }
    }


def _components(router: Router[Any]) -> Components:
    """The routers' components merged (each built now, on the document's first build)."""
    schemas: dict[str, Any] = dict(_COMMON_SCHEMAS)
    query: dict[str, Any] = {}
    path: dict[str, Any] = {}
    for build_components in router.components:
        parts = build_components()
        sources: tuple[Mapping[str, Any], ...] = (parts.schemas, parts.query, parts.path)
        for target, source in zip((schemas, query, path), sources, strict=True):
            clash = target.keys() & source.keys()
            if clash:
                raise ValueError(f"two routers define {sorted(clash)} for the OpenAPI document")
            target.update(source)
    return Components(schemas, query, path)


def _schemas(models: Mapping[str, tuple[Any, Any]]) -> dict[str, Any]:
    keys, top = models_json_schema(
        [(model, mode) for model, mode in models.values()],
        ref_template=SCHEMAS + "{model}",
    )
    schemas: dict[str, Any] = top["$defs"]
    for name, (model, mode) in models.items():
        ref = keys[(model, mode)]["$ref"]
        generated = ref.removeprefix(SCHEMAS)
        if generated != name:  # a model used in both modes would be suffixed: keep our name
            schemas[name] = schemas.pop(generated)
    return dict(sorted(schemas.items()))


def build(router: Router[Any], info: ApiInfo, mode: str = "NONE") -> dict[str, Any]:
    """The OpenAPI document of `router`'s routes, for authorization `mode`."""
    if mode not in ("NONE", *_SECURITY_NAMES):
        raise ValueError(f"unknown authorization mode {mode!r}")
    parts = _components(router)
    paths: dict[str, dict[str, Any]] = {}
    for route in router.routes():
        paths.setdefault(route.path, {})[route.method.lower()] = _operation(route, mode, parts)
    errors = _error_responses(mode)
    # Only the error responses some operation refers to (401 and 403 only with authorization).
    used = {
        response["$ref"].removeprefix(RESPONSES)
        for item in paths.values()
        for operation in item.values()
        for response in operation["responses"].values()
        if "$ref" in response
    }
    components: dict[str, Any] = {
        "schemas": _schemas(parts.schemas),
        "responses": {
            name: errors[status]
            for status in sorted(errors)
            if (name := _ERROR_NAMES[int(status)]) in used
        },
    }
    if mode != "NONE":
        components["securitySchemes"] = _security_schemes(mode)
    # Authorization NONE: no operation needs a caller, said once for the whole document.
    security: dict[str, Any] = {"security": []} if mode == "NONE" else {}
    return {
        "openapi": OPENAPI_VERSION,
        "info": {
            "title": info.title,
            "version": info.version,
            "description": info.description.format(mode=mode),
            "contact": {"name": info.contact},
            "license": {"name": info.license, "identifier": info.license},
        },
        "servers": [{"url": "/", "description": "The API that serves this document"}],
        "tags": [{"name": name, "description": text} for name, text in router.tags.items()],
        **security,
        "paths": dict(sorted(paths.items())),
        "components": components,
    }


@functools.cache
def document_json(router: Router[Any], info: ApiInfo, mode: str = "NONE") -> str:
    """The document as compact JSON text, built once per router, mode and container."""
    return json.dumps(build(router, info, mode), separators=(",", ":"))


def committed_text(router: Router[Any], info: ApiInfo, mode: str = "NONE") -> str:
    """The document as the repository keeps it (openapi.json): indented, one trailing newline."""
    return json.dumps(build(router, info, mode), indent=2) + "\n"


def operations(document: Mapping[str, Any]) -> list[str]:
    """The document's operations as route keys, e.g. `GET /items/{item_id}`."""
    methods = re.compile(r"^(get|put|post|delete|patch|head|options|trace)$")
    return [
        f"{method.upper()} {path}"
        for path, item in document["paths"].items()
        for method in item
        if methods.match(method)
    ]
