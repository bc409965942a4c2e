"""The API's OpenAPI 3.1 document, built from the route table and the pydantic models.

Nothing here is written by hand twice: the operations come from the dispatcher's routes and the
`routing.Doc` each carries (summary, body, success and error statuses, parameters), the schemas
from the models' JSON Schema (pydantic's `models_json_schema`, `$defs` as `components/schemas`),
and the security scheme from the function's authorization mode (env AUTHORIZATION).

Served by `GET /openapi.json`, built on its first request: importing this module imports pydantic
and the models, which a cold start that serves users never pays for (routes.py). `make openapi`
(`python -m tools.openapi`) writes the committed openapi.json; tests/unit/test_openapi.py fails
when that file, the route table and Terraform's routes disagree.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Mapping
from typing import Any, Final

from pydantic import BaseModel, ConfigDict, Field, RootModel, TypeAdapter
from pydantic.json_schema import JsonSchemaMode, SkipJsonSchema, models_json_schema

from users_api import models
from users_api.http import MAX_BODY_BYTES
from users_api.idempotency import VALID_KEY
from users_api.routing import Doc, Route
from users_api.rules import MAX_NAME_LENGTH

OPENAPI_VERSION: Final = "3.1.0"
API_VERSION: Final = "1.0.0"
JSON: Final = "application/json"
MERGE_PATCH: Final = "application/merge-patch+json"
SCHEMAS: Final = "#/components/schemas/"
RESPONSES: Final = "#/components/responses/"
ETAG_PATTERN: Final = r'^"[1-9][0-9]*"$'

# -- schemas that are not client input: what the function (and API Gateway) answer --------------


class Hello(BaseModel):
    """`GET /hello`: a greeting and the path it was asked on."""

    message: str
    path: str


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

    Some codes carry details: `validation_error` the bad `fields`; `user_exists` and
    `email_taken` the conflicting `field`; `precondition_failed` the `current_version`;
    `method_not_allowed` the `allowed` methods; `internal_error` the `request_id`.
    """

    model_config = ConfigDict(extra="forbid", json_schema_extra=_absent_not_null)

    error: str = Field(description="What went wrong, for people")
    code: str = Field(
        description="What went wrong, for programs, e.g. `validation_error`, `user_not_found`,"
        " `email_taken`, `concurrent_update`, `unavailable`"
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


class UserOrPage(RootModel[models.User | models.UserPage]):
    """`GET /users`: one user (`?id=`, `?email=`) or a page of users."""


class OpenApiDocument(BaseModel):
    """An OpenAPI 3.1 document (this one)."""

    model_config = ConfigDict(extra="allow")

    openapi: str
    info: dict[str, Any]
    paths: dict[str, Any]


# Each schema a Doc may name, and the mode its JSON Schema is taken in.
_MODELS: Final[dict[str, tuple[type[BaseModel], JsonSchemaMode]]] = {
    "UserCreate": (models.UserCreate, "validation"),
    "UserReplace": (models.UserReplace, "validation"),
    "UserPatch": (models.UserPatch, "validation"),
    "User": (models.User, "serialization"),
    "UserPage": (models.UserPage, "serialization"),
    "UserOrPage": (UserOrPage, "serialization"),
    "Hello": (Hello, "serialization"),
    "Error": (Error, "serialization"),
    "GatewayError": (GatewayError, "serialization"),
    "OpenApiDocument": (OpenApiDocument, "serialization"),
}


def _parameter_schema(schema: dict[str, Any]) -> dict[str, Any]:
    """A field's schema without its `null` branch (a parameter is absent, never null)."""
    branches = [b for b in schema.get("anyOf", []) if b.get("type") != "null"]
    rest = {k: v for k, v in schema.items() if k not in ("anyOf", "default", "title")}
    if len(branches) == 1:
        return {**branches[0], **rest}
    return rest


def _query_parameters() -> dict[str, dict[str, Any]]:
    listing = models.ListQuery.model_json_schema(mode="validation")["properties"]
    parameters = {
        "id": {
            "description": "Read the user with this `user_id`",
            "schema": TypeAdapter(models.UserId).json_schema(),
        },
        "email": {
            "description": "Look the user up by email (case-insensitive; admin only with"
            " authorization)",
            "schema": TypeAdapter(models.Email).json_schema(),
        },
    }
    for name, schema in listing.items():
        parameter = _parameter_schema(schema)
        description = parameter.pop("description", None)
        entry: dict[str, Any] = {"schema": parameter}
        if description:
            entry["description"] = description
        if schema.get("default") is not None:
            entry["schema"]["default"] = schema["default"]
        parameters[name] = entry
    parameters["limit"]["description"] = "Users per page"
    parameters["next_token"]["description"] = (
        "The previous page's `next_token`, with the same `created_after`/`created_before`"
    )
    return parameters


QUERY_PARAMETERS: Final = _query_parameters()

HEADER_PARAMETERS: Final[dict[str, dict[str, Any]]] = {
    "Idempotency-Key": {
        "description": "Makes the create safe to retry: the same key and body within 24 hours"
        " answers as the first request did (with `Idempotent-Replayed: true`)",
        "schema": {"type": "string", "pattern": f"^{VALID_KEY.pattern}$"},
    },
    "If-Match": {
        "description": "Change only if the user's version is one of these entity tags (the"
        ' `ETag` of a read, e.g. `"3"`), or `*`; otherwise 412',
        "schema": {"type": "string"},
    },
}

_PATH_PARAMETER_SCHEMAS: Final = {"user_id": TypeAdapter(models.UserId).json_schema()}

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
    "description": 'The user\'s version as an entity tag, e.g. `"3"`: send it as `If-Match`',
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
    404: ("No such user (`user_not_found`)", False),
    409: (
        "Conflict: `user_exists`, `email_taken`, or retry later (`concurrent_update`,"
        " `idempotency_key_in_use`, with `Retry-After`)",
        False,
    ),
    412: ("`If-Match` does not match the user's version (`current_version` says which is)", False),
    413: (f"The body is larger than {MAX_BODY_BYTES} bytes", True),
    422: ("The `Idempotency-Key` was used with another body (`idempotency_key_reused`)", False),
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
    responses["405"] = {
        "description": "The path exists, the method does not (any operation's path)",
        "headers": {
            "Allow": {
                "description": "The methods the path has",
                "required": True,
                "schema": {"type": "string"},
            },
            "X-Request-Id": _X_REQUEST_ID,
        },
        "content": {JSON: {"schema": {"$ref": f"{SCHEMAS}Error"}}},
    }
    return responses


def _success(status: int, schema_name: str | None, path: str) -> dict[str, Any]:
    response: dict[str, Any] = {"description": _SUCCESS[status]}
    headers: dict[str, Any] = {"X-Request-Id": _X_REQUEST_ID}
    if schema_name in ("User", "UserOrPage"):
        headers["ETag"] = {**_ETAG, "required": schema_name == "User"}
    if status == 201:
        headers["Location"] = {
            "description": "The new user's URL",
            "required": True,
            "schema": {"type": "string", "pattern": r"^/users/[A-Za-z0-9_-]{1,64}$"},
        }
        headers["Idempotent-Replayed"] = {
            "description": "`true` when this is the stored answer to an earlier request with"
            " the same Idempotency-Key",
            "schema": {"type": "string", "enum": ["true"]},
        }
    response["headers"] = headers
    if schema_name is not None:
        response["content"] = {JSON: {"schema": {"$ref": f"{SCHEMAS}{schema_name}"}}}
    if schema_name == "User" and path == "/users":
        response["links"] = _user_links()
    return response


_SUCCESS: Final = {200: "OK", 201: "Created", 204: "Deleted (no body)"}


def _user_links() -> dict[str, Any]:
    """After a create: where the user is (OpenAPI links, followed by clients and fuzzers)."""
    user_id = "$response.body#/user_id"
    return {
        "GetUser": {"operationId": "getUser", "parameters": {"user_id": user_id}},
        "GetUserById": {"operationId": "getOrListUsers", "parameters": {"query.id": user_id}},
        "ReplaceUser": {"operationId": "replaceUser", "parameters": {"user_id": user_id}},
        "PatchUser": {"operationId": "patchUser", "parameters": {"user_id": user_id}},
        "DeleteUser": {"operationId": "deleteUser", "parameters": {"user_id": user_id}},
    }


# -- operations -------------------------------------------------------------------------------


def operation_id(route: Route[Any]) -> str:
    """The handler's name in camelCase: `create_user` -> `createUser`."""
    first, *rest = route.handler.__name__.split("_")
    return first + "".join(word.capitalize() for word in rest)


def _doc(route: Route[Any]) -> Doc:
    if route.doc is None:
        raise LookupError(f"route {route.key} has no Doc: the OpenAPI document needs one")
    return route.doc


def _operation(route: Route[Any], mode: str) -> dict[str, Any]:
    doc = _doc(route)
    operation: dict[str, Any] = {
        "operationId": operation_id(route),
        "summary": doc.summary,
        "tags": [doc.tag],
    }
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
                    "schema": _PATH_PARAMETER_SCHEMAS[name],
                }
            )
    parameters += [{"name": n, "in": "query", **QUERY_PARAMETERS[n]} for n in doc.query]
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
        str(status): _success(status, name, route.path) for status, name in doc.responses.items()
    }
    errors = set(_EVERY_ROUTE) | set(doc.errors)
    if mode != "NONE" and not route.public:
        errors |= set(_AUTHENTICATED)
    for status in sorted(errors):
        responses[str(status)] = {"$ref": f"{RESPONSES}{_ERROR_NAMES[status]}"}
    operation["responses"] = responses
    if mode != "NONE":
        operation["security"] = [] if route.public else [{_SECURITY_NAMES[mode]: []}]
    return operation


_ERROR_NAMES: Final = {
    400: "BadRequest",
    401: "Unauthorized",
    403: "Forbidden",
    404: "NotFound",
    405: "MethodNotAllowed",
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
                " it); its `sub` is the caller's `user_id`, its admin scope allows everything",
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


def _schemas() -> dict[str, Any]:
    keys, top = models_json_schema(
        [(model, mode) for model, mode in _MODELS.values()],
        ref_template=SCHEMAS + "{model}",
    )
    schemas: dict[str, Any] = top["$defs"]
    for name, (model, mode) in _MODELS.items():
        ref = keys[(model, mode)]["$ref"]
        generated = ref.removeprefix(SCHEMAS)
        if generated != name:  # a model used in both modes would be suffixed: keep our name
            schemas[name] = schemas.pop(generated)
    return dict(sorted(schemas.items()))


def build(mode: str = "NONE") -> dict[str, Any]:
    """The OpenAPI document of the routes in routes.ROUTER, for authorization `mode`."""
    from users_api.routes import ROUTER

    if mode not in ("NONE", *_SECURITY_NAMES):
        raise ValueError(f"unknown authorization mode {mode!r}")
    paths: dict[str, dict[str, Any]] = {}
    for route in ROUTER.routes():
        paths.setdefault(route.path, {})[route.method.lower()] = _operation(route, mode)
    errors = _error_responses(mode)
    components: dict[str, Any] = {
        "schemas": _schemas(),
        "responses": {_ERROR_NAMES[int(status)]: errors[status] for status in sorted(errors)},
    }
    if mode != "NONE":
        components["securitySchemes"] = _security_schemes(mode)
    return {
        "openapi": OPENAPI_VERSION,
        "info": {
            "title": "Users API",
            "version": API_VERSION,
            "description": _DESCRIPTION.format(mode=mode, max_name=MAX_NAME_LENGTH),
        },
        "servers": [{"url": "/", "description": "The API that serves this document"}],
        "tags": [
            {"name": "users", "description": "User profiles"},
            {"name": "service", "description": "About the service itself"},
        ],
        "paths": dict(sorted(paths.items())),
        "components": components,
    }


_DESCRIPTION: Final = """A user API: one Lambda behind an API Gateway HTTP API, DynamoDB storage.

Every error is `{{"error": "...", "code": "..."}}` (some codes add details, see `Error`); answers
of API Gateway itself (throttling, its limits, an authorizer's refusal) are `{{"message": "..."}}`.
A known path with another method is a 405 with `Allow`; an unknown path, a 404 `route_not_found`.
Writes take `If-Match` with a read's `ETag` (optimistic concurrency). Names are 1-{max_name}
characters without control characters; emails are stored lower-case and unique.

Authorization of this stack: `{mode}`."""


@functools.cache
def document_json(mode: str = "NONE") -> str:
    """The document as compact JSON text, built once per mode and container."""
    return json.dumps(build(mode), separators=(",", ":"))


def committed_text(mode: str = "NONE") -> str:
    """The document as the repository keeps it (openapi.json): indented, one trailing newline."""
    return json.dumps(build(mode), indent=2) + "\n"


def operations(document: Mapping[str, Any]) -> list[str]:
    """The document's operations as route keys, e.g. `GET /users/{user_id}`."""
    methods = re.compile(r"^(get|put|post|delete|patch|head|options|trace)$")
    return [
        f"{method.upper()} {path}"
        for path, item in document["paths"].items()
        for method in item
        if methods.match(method)
    ]
