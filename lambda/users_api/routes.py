"""The route table: each route validates its input, calls the store and shapes the response."""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass

from users_api.errors import BadRequest, Conflict, NotFound, PreconditionFailed, ValidationFailed
from users_api.http import Request, Response, json_response
from users_api.paging import PageTokens
from users_api.routing import Router
from users_api.rules import INVALID_EMAIL, USER_ID_PATTERN, is_user_id, normalise_email
from users_api.store import (
    KEEP,
    Contention,
    EmailTaken,
    Keep,
    UserExists,
    UserNotFound,
    UserRecord,
    UserStore,
    VersionMismatch,
    now_iso,
)

# Routes that read never import pydantic (`users_api.models`): a cold start that serves a read
# skips its import and schema building. Routes that take input import the models on first use.


@dataclass(frozen=True, slots=True)
class Services:
    """What routes need beyond the request; built once per container."""

    store: UserStore
    tokens: PageTokens


ROUTER: Router[Services] = Router()

_USERS_QUERY = frozenset({"id", "email", "limit", "next_token"})
_ETAG = re.compile(r'^\s*(W/)?"([^"]*)"\s*$')


def _user_response(
    status: int, user: UserRecord, headers: dict[str, str] | None = None
) -> Response:
    return json_response(status, user.as_dict(), {"ETag": user.etag, **(headers or {})})


def _user_id_param(request: Request) -> str:
    value = request.path_params.get("user_id", "")
    if not is_user_id(value):
        raise _not_found(value)
    return value


def _if_match(request: Request) -> set[int] | None:
    """Versions allowed by `If-Match` (strong comparison), None when absent or `*`.

    An entity tag this API never issues matches no version, so it yields a 412 rather than a 400.
    """
    header = request.header("if-match")
    if header is None or header.strip() == "*":
        return None
    versions: set[int] = set()
    for tag in header.split(","):
        match = _ETAG.match(tag)
        if match is None:
            raise BadRequest(
                f"If-Match is not a list of entity tags: {header!r}", code="invalid_if_match"
            )
        if match.group(1) is None and match.group(2).isdigit():
            versions.add(int(match.group(2)))
    return versions


def _not_found(user_id: str) -> NotFound:
    return NotFound(f"User {user_id!r} not found", code="user_not_found")


def _email_taken(email: str) -> Conflict:
    return Conflict(
        f"Email {email!r} is already taken", code="email_taken", details={"field": "email"}
    )


def _version_mismatch(error: VersionMismatch) -> PreconditionFailed:
    return PreconditionFailed(
        "If-Match does not match the user's current version",
        details={"current_version": error.current},
    )


def _contention(user_id: str) -> Conflict:
    return Conflict(
        f"User {user_id!r} is being changed by other requests; retry", code="concurrent_update"
    )


@ROUTER.route("GET", "/hello")
def hello(request: Request, _: Services) -> Response:
    return json_response(200, {"message": "Hello from Lambda", "path": request.path})


@ROUTER.route("POST", "/users")
def create_user(request: Request, services: Services) -> Response:
    from users_api.models import UserCreate, validate

    data = validate(UserCreate, request.json())
    now = now_iso()
    user = UserRecord(
        user_id=data.user_id or uuid.uuid4().hex,
        name=data.name,
        email=data.email,
        created_at=now,
        updated_at=now,
        version=1,
    )
    try:
        services.store.create(user)
    except UserExists:
        raise Conflict(
            f"User {user.user_id!r} already exists",
            code="user_exists",
            details={"field": "user_id"},
        ) from None
    except EmailTaken:
        raise _email_taken(user.email or "") from None
    except Contention:
        raise _contention(user.user_id) from None
    return _user_response(201, user, {"Location": f"/users/{user.user_id}"})


@ROUTER.route("GET", "/users")
def get_or_list_users(request: Request, services: Services) -> Response:
    query = request.query
    unknown = query.keys() - _USERS_QUERY
    if unknown:
        raise ValidationFailed(
            [
                {"field": k, "message": "Unknown query parameter", "type": "extra_forbidden"}
                for k in sorted(unknown)
            ]
        )
    paging = {"limit", "next_token"} & query.keys()
    selectors = {"id", "email"} & query.keys()
    if len(selectors) > 1:
        raise BadRequest("Use either id or email, not both", code="invalid_query")
    if selectors and paging:
        combined = ", ".join(sorted(paging))
        raise BadRequest(
            f"{selectors.pop()} selects one user and cannot be combined with {combined}",
            code="invalid_query",
        )
    if "id" in query:
        user_id = query["id"]
        if not is_user_id(user_id):
            raise _invalid_query("id", f"String should match pattern '{USER_ID_PATTERN}'")
        user = services.store.get(user_id)
        if user is None:
            raise _not_found(user_id)
        return _user_response(200, user)
    if "email" in query:
        try:
            email = normalise_email(query["email"])
        except ValueError:
            raise _invalid_query("email", INVALID_EMAIL) from None
        user = services.store.get_by_email(email)
        if user is None:
            raise NotFound(f"No user has email {email!r}", code="user_not_found")
        return _user_response(200, user)
    from users_api.models import ListQuery, validate

    params = validate(ListQuery, query)
    after = services.tokens.decode(params.next_token) if params.next_token else None
    users, last = services.store.list_page(params.limit, after)
    page = {
        "items": [user.as_dict() for user in users],
        "count": len(users),
        "next_token": services.tokens.encode(last) if last else None,
    }
    return json_response(200, page)


def _invalid_query(name: str, message: str) -> ValidationFailed:
    return ValidationFailed([{"field": name, "message": message, "type": "value_error"}])


@ROUTER.route("GET", "/users/{user_id}")
def get_user(request: Request, services: Services) -> Response:
    user_id = _user_id_param(request)
    user = services.store.get(user_id)
    if user is None:
        raise _not_found(user_id)
    return _user_response(200, user)


@ROUTER.route("PUT", "/users/{user_id}")
def replace_user(request: Request, services: Services) -> Response:
    from users_api.models import UserReplace, validate

    user_id = _user_id_param(request)
    data = validate(UserReplace, request.json())
    return _update(services, user_id, request, name=data.name, email=data.email)


@ROUTER.route("PATCH", "/users/{user_id}")
def patch_user(request: Request, services: Services) -> Response:
    from users_api.models import UserPatch, validate

    user_id = _user_id_param(request)
    changes = validate(UserPatch, request.json()).changes()
    name = changes.get("name", KEEP)
    if name is None:
        raise ValidationFailed(
            [
                {
                    "field": "name",
                    "message": "name is required and cannot be removed",
                    "type": "missing",
                }
            ]
        )
    return _update(services, user_id, request, name=name, email=changes.get("email", KEEP))


def _update(
    services: Services,
    user_id: str,
    request: Request,
    *,
    name: str | Keep,
    email: str | Keep | None,
) -> Response:
    expected = _if_match(request)
    try:
        user = services.store.update(user_id, name=name, email=email, expected_versions=expected)
    except UserNotFound:
        raise _not_found(user_id) from None
    except VersionMismatch as error:
        raise _version_mismatch(error) from None
    except EmailTaken as error:
        raise _email_taken(str(error)) from None
    except Contention:
        raise _contention(user_id) from None
    return _user_response(200, user)


@ROUTER.route("DELETE", "/users/{user_id}")
def delete_user(request: Request, services: Services) -> Response:
    user_id = _user_id_param(request)
    try:
        services.store.delete(user_id, expected_versions=_if_match(request))
    except UserNotFound:
        raise _not_found(user_id) from None
    except VersionMismatch as error:
        raise _version_mismatch(error) from None
    except Contention:
        raise _contention(user_id) from None
    return Response(204)
