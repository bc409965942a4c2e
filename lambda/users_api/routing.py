"""The dispatcher: a route table of (method, path template) -> handler, listed as data.

API Gateway supplies the matched `routeKey` and `pathParameters` for explicit routes; requests that
reach the function through `$default` (or from a test without a route key) are matched here on
method and path, so unknown paths get a 404 and known paths with the wrong method a 405 + `Allow`.

Two tables beside the routes, both consulted by `dispatch` so no route can forget them:
- `guard`: called before every route that is not `public` (authentication: a 401 when there is
  no caller);
- the error table (`@router.error(DomainError)`, like Powertools' `exception_handler`): how each
  domain outcome a handler lets through becomes an HTTP error.

Routers compose (`include_router`, as Starlette's Mount or Powertools' include_router): each
resource has its own router — its routes, its error table, its tag and the schemas its routes
name — and users_api.api composes them into the API's router.

Each route may carry a `Doc`: what the API's OpenAPI document (users_api.openapi) says of it,
including everything resource-specific (the `Location` of a create, which answers carry an
`ETag`, links, the tag); the router's `components` say what its schema and parameter names
mean. Dispatch never reads either.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Generic, TypeVar

from users_api.errors import HttpError, MethodNotAllowed, NotFound
from users_api.http import JSON_CONTENT_TYPE, Request, Response, path_segments

Context = TypeVar("Context")
Handler = Callable[[Request, Context], Response]
ErrorType = TypeVar("ErrorType", bound=Exception)


@dataclass(frozen=True, slots=True)
class Doc:
    """A route as the OpenAPI document describes it (users_api.openapi builds it from these).

    Schemas and parameters are named, not imported: their router's `components` (built on
    first use, with pydantic) say what each name is, and routes must not import pydantic.
    """

    summary: str
    # Success status -> the schema of its body (None: no body).
    responses: Mapping[int, str | None]
    body: str | None = None  # the schema of the request body
    # Error statuses this route answers beyond those every route can (see users_api.openapi).
    errors: tuple[int, ...] = ()
    query: tuple[str, ...] = ()  # query parameters, by name (the router's Components.query)
    headers: tuple[str, ...] = ()  # request headers it reads (users_api.openapi.HEADER_PARAMETERS)
    tag: str | None = None  # default: the router's
    description: str = ""
    # A 201's `Location`: the new item's path template, e.g. "/users/{user_id}".
    location: str | None = None
    # Whether success answers carry an `ETag` header: "required", "optional" or "" (none).
    etag: str = ""
    # OpenAPI links from the success answer: name -> (operationId, parameter, body member).
    links: Mapping[str, tuple[str, str, str]] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Components:
    """What a router's names mean in the OpenAPI document (built on first use, with pydantic).

    `schemas`: name -> (pydantic model, "validation" | "serialization"); `query` and `path`:
    parameter name -> OpenAPI parameter fields (`schema`, `description`).
    """

    schemas: Mapping[str, tuple[Any, str]] = field(default_factory=dict)
    query: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    path: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class ApiInfo:
    """What the OpenAPI document says of the whole API (`info`); `{mode}` in the description
    is the stack's authorization mode."""

    title: str
    version: str
    description: str
    contact: str  # who answers for the API (OpenAPI's contact name)
    license: str  # its terms, as an SPDX identifier (e.g. MIT)


@dataclass(frozen=True, slots=True)
class Route(Generic[Context]):
    method: str
    path: str
    handler: Handler[Context]
    segments: tuple[str, ...]
    public: bool = False
    doc: Doc | None = None

    @property
    def key(self) -> str:
        return f"{self.method} {self.path}"

    def match(self, segments: list[str]) -> dict[str, str] | None:
        return match_template(self.segments, segments)


def match_template(template: Sequence[str], segments: Sequence[str]) -> dict[str, str] | None:
    """The path parameters if `segments` match the template's (`{name}` matches one segment)."""
    if len(segments) != len(template):
        return None
    params: dict[str, str] = {}
    for part, value in zip(template, segments, strict=True):
        if part.startswith("{") and part.endswith("}"):
            params[part[1:-1]] = value
        elif part != value:
            return None
    return params


class Router(Generic[Context]):
    def __init__(
        self,
        *,
        tag: str = "",
        tag_description: str = "",
        components: Callable[[], Components] | None = None,
    ) -> None:
        self._routes: list[Route[Context]] = []
        self._by_key: dict[str, Route[Context]] = {}
        self._errors: dict[type[Exception], Callable[[Any], HttpError]] = {}
        self.guard: Callable[[Request, Context], object] | None = None
        # The OpenAPI document's tags (name -> description) and component builders.
        self.tags: dict[str, str] = {tag: tag_description} if tag else {}
        self.tag = tag
        self.components: list[Callable[[], Components]] = [components] if components else []

    def route(
        self, method: str, path: str, *, public: bool = False, doc: Doc | None = None
    ) -> Callable[[Handler[Context]], Handler[Context]]:
        """Register `handler` for `method path` (a template such as `/users/{user_id}`).

        `public` routes skip the guard (no caller needed); `doc` is for the OpenAPI document.
        """

        def register(handler: Handler[Context]) -> Handler[Context]:
            documented = doc
            if doc is not None and doc.tag is None and self.tag:
                documented = replace(doc, tag=self.tag)
            segments = tuple(path_segments(path))
            self._add(Route(method.upper(), path, handler, segments, public, documented))
            return handler

        return register

    def _add(self, route: Route[Context]) -> None:
        if route.key in self._by_key:
            raise ValueError(f"duplicate route {route.key}")
        self._routes.append(route)
        self._by_key[route.key] = route

    def include_router(self, other: Router[Context], prefix: str = "") -> None:
        """Serve `other`'s routes (under `prefix`), with its error table, tags and components."""
        for route in other.routes():
            path = prefix.rstrip("/") + route.path if prefix else route.path
            self._add(replace(route, path=path, segments=tuple(path_segments(path))))
        for error_type, mapper in other._errors.items():
            self.error(error_type)(mapper)
        self.tags.update(other.tags)
        self.components += other.components

    def error(
        self, error_type: type[ErrorType]
    ) -> Callable[[Callable[[ErrorType], HttpError]], Callable[[ErrorType], HttpError]]:
        """Register how `error_type` (and its subclasses) becomes an HTTP error."""

        def register(mapper: Callable[[ErrorType], HttpError]) -> Callable[[ErrorType], HttpError]:
            if error_type in self._errors:
                raise ValueError(f"duplicate error mapping for {error_type.__name__}")
            self._errors[error_type] = mapper
            return mapper

        return register

    def error_types(self) -> list[type[Exception]]:
        return list(self._errors)

    def route_keys(self) -> list[str]:
        """The table as API Gateway route keys, e.g. `GET /users/{user_id}`."""
        return [route.key for route in self._routes]

    def routes(self) -> list[Route[Context]]:
        return list(self._routes)

    def resolve(self, request: Request) -> tuple[Route[Context], dict[str, str]]:
        if request.route_key is not None:
            route = self._by_key.get(request.route_key)
            if route is not None:
                return route, request.path_params
        segments = path_segments(request.path)
        # HEAD is GET without the body (RFC 9110 §9.3.2); `dispatch` drops the body.
        method = "GET" if request.method == "HEAD" else request.method
        allowed: list[str] = []
        for route in self._routes:
            params = route.match(segments)
            if params is None:
                continue
            if route.method == method:
                return route, params
            allowed.append(route.method)
            if route.method == "GET":
                allowed.append("HEAD")
        if allowed:
            raise MethodNotAllowed(request.method, allowed)
        raise NotFound(f"No route for {request.method} {request.path}", code="route_not_found")

    def dispatch(self, request: Request, context: Context) -> Response:
        route, params = self.resolve(request)
        if params is not request.path_params:
            request = replace(request, path_params=params)
        try:
            if not route.public and self.guard is not None:
                self.guard(request, context)
            response = route.handler(request, context)
        except HttpError:
            raise
        except Exception as error:
            mapped = self.as_http_error(error)
            if mapped is None:
                raise  # not a domain outcome: a bug, the handler's 500
            raise mapped from None
        if request.method == "HEAD" and response.body is not None:
            headers = {"Content-Type": JSON_CONTENT_TYPE, **response.headers}
            return replace(response, body=None, headers=headers)
        return response

    def as_http_error(self, error: Exception) -> HttpError | None:
        """The HTTP error the error table maps `error` to (by its class or a base), or None."""
        for error_type in type(error).__mro__:
            mapper = self._errors.get(error_type)
            if mapper is not None:
                return mapper(error)
        return None
