"""The users router: each route checks who calls, validates its input, calls the repository and
shapes the response. The repository's outcomes become HTTP errors through this router's error
table (`@router.error`).

Routes that read never import pydantic (users.schema): a cold start that serves a read skips its
import and schema building. Routes that take input import the schema on first use.
"""

from __future__ import annotations

import uuid
from typing import Any, Final

from users_api import auth
from users_api.errors import (
    BadRequest,
    Conflict,
    HttpError,
    NotFound,
    PreconditionFailed,
    UnprocessableContent,
    ValidationFailed,
)
from users_api.http import Request, Response, if_match_versions, json_response
from users_api.idempotency import REPLAYED_HEADERS, Replay, StoredResponse, fingerprint
from users_api.idempotency import is_valid_key as is_valid_idempotency_key
from users_api.records import WRITABLE, now_iso, optional
from users_api.routing import Components, Doc, Router
from users_api.rules import INVALID_EMAIL, USER_ID_PATTERN, is_user_id, normalise_email
from users_api.services import Services, caller
from users_api.users.listing import ListWindow
from users_api.users.model import User
from users_api.users.repository import (
    EmailTaken,
    UserExists,
    UserNotFound,
    UserRepository,
    VersionMismatch,
)


def _components() -> Components:
    from users_api.users import openapi

    return openapi.components()


router: Router[Services] = Router(
    tag="users", tag_description="User profiles", components=_components
)

USERS_QUERY: Final = frozenset(
    {"id", "email", "limit", "next_token", "created_after", "created_before"}
)
LIST_QUERY: Final = frozenset({"limit", "next_token", "created_after", "created_before"})
# After a create: where the user is (OpenAPI links, followed by clients and fuzzers).
_LINKS: Final = {
    "GetUser": ("getUser", "user_id", "user_id"),
    "GetUserById": ("getOrListUsers", "query.id", "user_id"),
    "ReplaceUser": ("replaceUser", "user_id", "user_id"),
    "PatchUser": ("patchUser", "user_id", "user_id"),
    "DeleteUser": ("deleteUser", "user_id", "user_id"),
}


def _users(services: Services) -> UserRepository:
    return services.repository(UserRepository)


# -- the error table: the repository's outcomes -> HTTP errors ----------------------------------


@router.error(UserNotFound)
def _user_not_found(error: UserNotFound) -> HttpError:
    return _not_found(error.user_id)


@router.error(UserExists)
def _user_exists(error: UserExists) -> HttpError:
    return Conflict(
        f"User {error.user_id!r} already exists", code="user_exists", details={"field": "user_id"}
    )


@router.error(EmailTaken)
def _email_taken(error: EmailTaken) -> HttpError:
    return Conflict(
        f"Email {error.email!r} is already taken", code="email_taken", details={"field": "email"}
    )


@router.error(VersionMismatch)
def _version_mismatch(error: VersionMismatch) -> HttpError:
    return PreconditionFailed(
        "If-Match does not match the user's current version",
        details={"current_version": error.current},
    )


# -- helpers -----------------------------------------------------------------------------------


def _user_response(status: int, user: User, headers: dict[str, str] | None = None) -> Response:
    return json_response(status, user.as_json(), {"ETag": user.etag, **(headers or {})})


def _not_found(user_id: str) -> NotFound:
    return NotFound(f"User {user_id!r} not found", code="user_not_found")


def _user_id_param(request: Request) -> str:
    value = request.path_params.get("user_id", "")
    if not is_user_id(value):
        raise _not_found(value)
    return value


def _invalid_query(name: str, message: str) -> ValidationFailed:
    return ValidationFailed([{"field": name, "message": message, "type": "value_error"}])


# -- routes ------------------------------------------------------------------------------------


def _replayed(replay: Replay) -> Response:
    stored = replay.response
    return Response(stored.status, stored.body, {**stored.headers, "Idempotent-Replayed": "true"})


def _created_id(replay: Replay) -> str:
    """The user_id of a replayed create's `Location` (`/users/<user_id>`)."""
    return replay.response.headers.get("Location", "").rpartition("/")[2]


@router.route(
    "POST",
    "/users",
    doc=Doc(
        "Create a user",
        {201: "User"},
        body="UserCreate",
        errors=(409, 422, 503),
        headers=("Idempotency-Key",),
        description=(
            "`user_id` is generated when absent (with a JWT, it is the token's `sub`). With an"
            " `Idempotency-Key`, the same key and body again within 24 hours replays the first"
            " answer (`Idempotent-Replayed: true`) and writes nothing, while the user it created"
            " exists; once that user is deleted, the key is forgotten and the request creates"
            " anew."
        ),
        location="/users/{user_id}",
        etag="required",
        links=_LINKS,
    ),
)
def create_user(request: Request, services: Services) -> Response:
    from users_api.schema import validate
    from users_api.users.schema import UserCreate

    who = caller(request, services)
    fields = validate(UserCreate, request.json()).model_dump()
    user_id = fields.pop("user_id") or auth.own_user_id(who) or uuid.uuid4().hex
    auth.require_owner(who, user_id)
    key = request.header("idempotency-key")
    if key is not None and not is_valid_idempotency_key(key):
        raise BadRequest(
            "Idempotency-Key must be 1-255 printable ASCII characters",
            code="invalid_idempotency_key",
        )
    now = now_iso()
    user = User(user_id=user_id, **fields, created_at=now, updated_at=now, version=1)
    created = _user_response(201, user, {"Location": f"/users/{user.user_id}"})
    users = _users(services)
    if key is None:
        users.create(user)
        return created
    body = fingerprint(request.body)
    try:
        claim = services.idempotency.claim(who.principal, key, body)
    except Replay as replay:
        if users.get(_created_id(replay)) is not None:
            return _replayed(replay)
        # The user that answer created has been deleted since: a replay would send a Location
        # that is a 404. The key is forgotten and this request creates the user anew.
        services.idempotency.forget(replay.held)
        try:
            claim = services.idempotency.claim(who.principal, key, body)
        except Replay as again:  # another request with the key re-created it meanwhile
            return _replayed(again)
    answer = StoredResponse(
        created.status,
        created.body or "",
        {name: created.headers[name] for name in REPLAYED_HEADERS},
    )
    try:
        users.create(user, also=[services.idempotency.completion(claim, answer)])
    except Exception:
        services.idempotency.release(claim)  # a failed create does not pin the key
        raise
    return created


@router.route(
    "GET",
    "/users",
    doc=Doc(
        "Read a user (?id=), look one up by email (?email=), or list users newest first",
        {200: "UserOrPage"},
        errors=(404, 422, 503),
        query=("id", "email", "limit", "next_token", "created_after", "created_before"),
        description=(
            "Three uses, each with its own parameters: `id` reads one user; `email` looks one"
            " up; `limit`, `next_token`, `created_after` and `created_before` (each optional)"
            " list one page of users, newest first, and `next_token` continues it. Parameters"
            " of two uses in one request are a 422 `invalid_query`. Listing and lookup by"
            " email need the admin scope when authorization is on."
        ),
        etag="optional",
    ),
)
def get_or_list_users(request: Request, services: Services) -> Response:
    """One route, three jobs: `?id=` reads a user, `?email=` looks one up, otherwise a page."""
    query = request.query
    unknown = query.keys() - USERS_QUERY
    if unknown:
        raise ValidationFailed(
            [
                {"field": k, "message": "Unknown query parameter", "type": "extra_forbidden"}
                for k in sorted(unknown)
            ]
        )
    paging = LIST_QUERY & query.keys()
    selectors = {"id", "email"} & query.keys()
    # Each parameter is valid on its own (the document's schemas say so); two uses in one
    # request are well formed but contradict each other: 422, as the document lists.
    if len(selectors) > 1:
        raise UnprocessableContent("Use either id or email, not both", code="invalid_query")
    if selectors and paging:
        combined = ", ".join(sorted(paging))
        raise UnprocessableContent(
            f"{selectors.pop()} selects one user and cannot be combined with {combined}",
            code="invalid_query",
        )
    if "id" in query:
        return _get_by_id(request, services, query["id"])
    if "email" in query:
        return _get_by_email(request, services, query["email"])
    return _list_page(request, services)


def _get_by_id(request: Request, services: Services, user_id: str) -> Response:
    if not is_user_id(user_id):
        raise _invalid_query("id", f"String should match pattern '{USER_ID_PATTERN}'")
    auth.require_reader(caller(request, services), user_id, services.auth)
    user = _users(services).get(user_id)
    if user is None:
        raise _not_found(user_id)
    return _user_response(200, user)


def _get_by_email(request: Request, services: Services, raw_email: str) -> Response:
    auth.require_admin(caller(request, services), "Looking users up by email")
    try:
        email = normalise_email(raw_email)
    except ValueError:
        raise _invalid_query("email", INVALID_EMAIL) from None
    user = _users(services).get_by_email(email)
    if user is None:
        raise NotFound(f"No user has email {email!r}", code="user_not_found")
    return _user_response(200, user)


def _list_page(request: Request, services: Services) -> Response:
    from users_api.schema import validate
    from users_api.users.schema import ListQuery

    auth.require_admin(caller(request, services), "Listing users")
    params = validate(ListQuery, request.query)
    users = _users(services)
    window = ListWindow(None, params.created_after, params.created_before)
    bounds = (params.created_after, params.created_before)
    if params.next_token:
        after = users.tokens.decode(params.next_token, *bounds)
        window = ListWindow(after, *bounds)
    found, last = users.list_page(params.limit, window)
    page = {
        "items": [user.as_json() for user in found],
        "count": len(found),
        "next_token": users.tokens.encode(last, *bounds) if last else None,
    }
    return json_response(200, page)


@router.route(
    "GET",
    "/users/{user_id}",
    doc=Doc(
        "Read a user",
        {200: "User"},
        errors=(404, 503),
        etag="required",
        description="The user, and its version as `ETag` (send it as `If-Match` to change it).",
    ),
)
def get_user(request: Request, services: Services) -> Response:
    user_id = _user_id_param(request)
    return _get_by_id(request, services, user_id)


@router.route(
    "PUT",
    "/users/{user_id}",
    doc=Doc(
        "Replace a user's name and email (an absent email removes it)",
        {200: "User"},
        body="UserReplace",
        errors=(404, 409, 412, 503),
        headers=("If-Match",),
        etag="required",
        description=(
            "Sets the name and the email; an absent email removes it. With `If-Match`, only if"
            " the user is still at that version (412 otherwise)."
        ),
    ),
)
def replace_user(request: Request, services: Services) -> Response:
    from users_api.schema import validate
    from users_api.users.schema import UserReplace

    user_id = _user_id_param(request)
    auth.require_owner(caller(request, services), user_id)
    changes = validate(UserReplace, request.json()).model_dump()
    return _update(services, user_id, request, changes)


@router.route(
    "PATCH",
    "/users/{user_id}",
    doc=Doc(
        "Change some of a user's fields (JSON merge patch, RFC 7396)",
        {200: "User"},
        body="UserPatch",
        errors=(404, 409, 412, 503),
        headers=("If-Match",),
        description='An absent member stays as it is; `"email": null` removes the email.',
        etag="required",
    ),
)
def patch_user(request: Request, services: Services) -> Response:
    from users_api.schema import validate
    from users_api.users.schema import UserPatch

    user_id = _user_id_param(request)
    auth.require_owner(caller(request, services), user_id)
    changes = validate(UserPatch, request.json()).changes()
    required = [f.name for f in User.declared(WRITABLE) if not optional(f)]
    removed = [name for name in required if name in changes and changes[name] is None]
    if removed:
        raise ValidationFailed(
            [
                {
                    "field": name,
                    "message": f"{name} is required and cannot be removed",
                    "type": "missing",
                }
                for name in removed
            ]
        )
    if not changes:
        return _unchanged(services, user_id, if_match_versions(request))
    return _update(services, user_id, request, changes)


def _unchanged(services: Services, user_id: str, expected: set[int] | None) -> Response:
    """An empty merge patch changes nothing (RFC 7396): the user as it is, nothing written."""
    user = _users(services).get(user_id)
    if user is None:
        raise _not_found(user_id)
    if expected is not None and user.version not in expected:
        raise VersionMismatch(user_id, user.version)
    return _user_response(200, user)


def _update(
    services: Services, user_id: str, request: Request, changes: dict[str, Any]
) -> Response:
    expected = if_match_versions(request)
    user = _users(services).update(user_id, changes, expected_versions=expected)
    return _user_response(200, user)


@router.route(
    "DELETE",
    "/users/{user_id}",
    doc=Doc(
        "Delete a user",
        {204: None},
        errors=(404, 409, 412, 503),
        headers=("If-Match",),
        description="With `If-Match`, only if the user is still at that version (412 otherwise).",
    ),
)
def delete_user(request: Request, services: Services) -> Response:
    user_id = _user_id_param(request)
    auth.require_owner(caller(request, services), user_id)
    _users(services).delete(user_id, expected_versions=if_match_versions(request))
    return Response(204)
