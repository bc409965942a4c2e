"""The route table: each route checks who calls, validates its input, calls the store and shapes
the response. Domain outcomes become HTTP errors through one table (`@ROUTER.error`) below.

Routes that read never import pydantic (`users_api.models`): a cold start that serves a read
skips its import and schema building. Routes that take input import the models on first use.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from typing import Final

from users_api import auth
from users_api.deadline import DeadlineExceeded
from users_api.errors import (
    BadRequest,
    Conflict,
    HttpError,
    NotFound,
    PreconditionFailed,
    ServiceUnavailable,
    UnprocessableContent,
    ValidationFailed,
)
from users_api.http import Request, Response, json_response
from users_api.idempotency import (
    REPLAYED_HEADERS,
    IdempotencyKeyInFlight,
    IdempotencyKeyReused,
    IdempotencyStore,
    Replay,
    StoredResponse,
    fingerprint,
    is_valid_key,
)
from users_api.paging import PageTokens
from users_api.routing import Doc, Router
from users_api.rules import INVALID_EMAIL, USER_ID_PATTERN, is_user_id, normalise_email
from users_api.store import (
    KEEP,
    ClaimLost,
    Contention,
    EmailTaken,
    Keep,
    ListWindow,
    Unavailable,
    UserExists,
    UserNotFound,
    UserRecord,
    UserStore,
    VersionMismatch,
    now_iso,
)


@dataclass(frozen=True, slots=True)
class Services:
    """What routes need beyond the request; built once per container."""

    store: UserStore
    tokens: PageTokens
    idempotency: IdempotencyStore
    auth: auth.Settings


ROUTER: Router[Services] = Router()

USERS_QUERY: Final = frozenset(
    {"id", "email", "limit", "next_token", "created_after", "created_before"}
)
LIST_QUERY: Final = frozenset({"limit", "next_token", "created_after", "created_before"})
# If-Match: only entity tags this API issues (`"<version>"`, no leading zero, at most 18 digits)
# can match; anything else, and headers longer or with more tags than any client needs, match
# nothing (412). Strong comparison, so weak tags (W/"1") never match either.
_ETAG: Final = re.compile(r'"([1-9][0-9]{0,17})"')
MAX_IF_MATCH_LENGTH: Final = 1024
MAX_IF_MATCH_TAGS: Final = 20


def caller(request: Request, services: Services) -> auth.Caller:
    return auth.caller_of(request.authorizer, services.auth)


ROUTER.guard = caller  # every non-public route needs a caller (401 otherwise)


# -- the error table: domain outcome -> HTTP error ----------------------------------------------


@ROUTER.error(UserNotFound)
def _user_not_found(error: UserNotFound) -> HttpError:
    return _not_found(error.user_id)


@ROUTER.error(UserExists)
def _user_exists(error: UserExists) -> HttpError:
    return Conflict(
        f"User {error.user_id!r} already exists", code="user_exists", details={"field": "user_id"}
    )


@ROUTER.error(EmailTaken)
def _email_taken(error: EmailTaken) -> HttpError:
    return Conflict(
        f"Email {error.email!r} is already taken", code="email_taken", details={"field": "email"}
    )


@ROUTER.error(VersionMismatch)
def _version_mismatch(error: VersionMismatch) -> HttpError:
    return PreconditionFailed(
        "If-Match does not match the user's current version",
        details={"current_version": error.current},
    )


@ROUTER.error(Contention)
def _contention(error: Contention) -> HttpError:
    return Conflict(
        f"User {error.user_id!r} is being changed by other requests; retry",
        code="concurrent_update",
        retry_after_s=1,
    )


@ROUTER.error(Unavailable)
def _unavailable(_: Unavailable) -> HttpError:
    return ServiceUnavailable("The user store is busy or unavailable; retry shortly")


@ROUTER.error(DeadlineExceeded)
def _deadline(_: DeadlineExceeded) -> HttpError:
    return ServiceUnavailable("The request ran out of time; retry shortly")


@ROUTER.error(IdempotencyKeyReused)
def _key_reused(_: IdempotencyKeyReused) -> HttpError:
    return UnprocessableContent(
        "Idempotency-Key was already used with a different request body",
        code="idempotency_key_reused",
    )


@ROUTER.error(IdempotencyKeyInFlight)
def _key_in_flight(_: IdempotencyKeyInFlight) -> HttpError:
    return Conflict(
        "A request with this Idempotency-Key is still being processed; retry shortly",
        code="idempotency_key_in_use",
        retry_after_s=1,
    )


@ROUTER.error(ClaimLost)
def _claim_lost(_: ClaimLost) -> HttpError:
    # The claim's lease ran out and another request took the key over: it answers for it.
    return _key_in_flight(IdempotencyKeyInFlight())


# -- helpers -----------------------------------------------------------------------------------


def _user_response(
    status: int, user: UserRecord, headers: dict[str, str] | None = None
) -> Response:
    return json_response(status, user.as_dict(), {"ETag": user.etag, **(headers or {})})


def _not_found(user_id: str) -> NotFound:
    return NotFound(f"User {user_id!r} not found", code="user_not_found")


def _user_id_param(request: Request) -> str:
    value = request.path_params.get("user_id", "")
    if not is_user_id(value):
        raise _not_found(value)
    return value


def _if_match(request: Request) -> set[int] | None:
    """Versions allowed by `If-Match` (strong comparison), None when absent or `*`."""
    header = request.header("if-match")
    if header is None or header.strip() == "*":
        return None
    tags = header.split(",")
    if len(header) > MAX_IF_MATCH_LENGTH or len(tags) > MAX_IF_MATCH_TAGS:
        return set()
    return {int(match.group(1)) for tag in tags if (match := _ETAG.fullmatch(tag.strip()))}


def _invalid_query(name: str, message: str) -> ValidationFailed:
    return ValidationFailed([{"field": name, "message": message, "type": "value_error"}])


# -- routes ------------------------------------------------------------------------------------


@ROUTER.route(
    "GET",
    "/hello",
    public=True,
    doc=Doc("Say hello (no caller needed)", {200: "Hello"}, tag="service"),
)
def hello(request: Request, _: Services) -> Response:
    return json_response(200, {"message": "Hello from Lambda", "path": request.path})


@ROUTER.route(
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
            " answer (`Idempotent-Replayed: true`) and writes nothing."
        ),
    ),
)
def create_user(request: Request, services: Services) -> Response:
    from users_api.models import UserCreate, validate

    who = caller(request, services)
    data = validate(UserCreate, request.json())
    user_id = data.user_id or auth.own_user_id(who) or uuid.uuid4().hex
    auth.require_owner(who, user_id)
    key = request.header("idempotency-key")
    if key is not None and not is_valid_key(key):
        raise BadRequest(
            "Idempotency-Key must be 1-255 printable ASCII characters",
            code="invalid_idempotency_key",
        )
    now = now_iso()
    user = UserRecord(user_id, data.name, data.email, now, now, 1)
    created = _user_response(201, user, {"Location": f"/users/{user.user_id}"})
    if key is None:
        services.store.create(user)
        return created
    try:
        claim = services.idempotency.claim(who.principal, key, fingerprint(request.body))
    except Replay as replay:
        stored = replay.response
        return Response(
            stored.status, stored.body, {**stored.headers, "Idempotent-Replayed": "true"}
        )
    answer = StoredResponse(
        created.status,
        created.body or "",
        {name: created.headers[name] for name in REPLAYED_HEADERS},
    )
    try:
        services.store.create(user, also=[services.idempotency.completion(claim, answer)])
    except Exception:
        services.idempotency.release(claim)  # a failed create does not pin the key
        raise
    return created


@ROUTER.route(
    "GET",
    "/users",
    doc=Doc(
        "Read a user (?id=), look one up by email (?email=), or list users newest first",
        {200: "UserOrPage"},
        errors=(404, 503),
        query=("id", "email", "limit", "next_token", "created_after", "created_before"),
        description=(
            "`id` or `email` selects one user and takes no other parameter; without them the"
            " answer is one page of users, newest first, and `next_token` continues it. Listing"
            " and lookup by email need the admin scope when authorization is on."
        ),
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
    if len(selectors) > 1:
        raise BadRequest("Use either id or email, not both", code="invalid_query")
    if selectors and paging:
        combined = ", ".join(sorted(paging))
        raise BadRequest(
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
    user = services.store.get(user_id)
    if user is None:
        raise _not_found(user_id)
    return _user_response(200, user)


def _get_by_email(request: Request, services: Services, raw_email: str) -> Response:
    auth.require_admin(caller(request, services), "Looking users up by email")
    try:
        email = normalise_email(raw_email)
    except ValueError:
        raise _invalid_query("email", INVALID_EMAIL) from None
    user = services.store.get_by_email(email)
    if user is None:
        raise NotFound(f"No user has email {email!r}", code="user_not_found")
    return _user_response(200, user)


def _list_page(request: Request, services: Services) -> Response:
    from users_api.models import ListQuery, validate

    auth.require_admin(caller(request, services), "Listing users")
    params = validate(ListQuery, request.query)
    window = ListWindow(None, params.created_after, params.created_before)
    if params.next_token:
        after = services.tokens.decode(params.next_token, *_window_of(window))
        window = ListWindow(after, params.created_after, params.created_before)
    users, last = services.store.list_page(params.limit, window)
    page = {
        "items": [user.as_dict() for user in users],
        "count": len(users),
        "next_token": services.tokens.encode(last, *_window_of(window)) if last else None,
    }
    return json_response(200, page)


def _window_of(window: ListWindow) -> tuple[str | None, str | None]:
    return window.created_after, window.created_before


@ROUTER.route("GET", "/users/{user_id}", doc=Doc("Read a user", {200: "User"}, errors=(404, 503)))
def get_user(request: Request, services: Services) -> Response:
    user_id = _user_id_param(request)
    return _get_by_id(request, services, user_id)


@ROUTER.route(
    "PUT",
    "/users/{user_id}",
    doc=Doc(
        "Replace a user's name and email (an absent email removes it)",
        {200: "User"},
        body="UserReplace",
        errors=(404, 409, 412, 503),
        headers=("If-Match",),
    ),
)
def replace_user(request: Request, services: Services) -> Response:
    from users_api.models import UserReplace, validate

    user_id = _user_id_param(request)
    auth.require_owner(caller(request, services), user_id)
    data = validate(UserReplace, request.json())
    return _update(services, user_id, request, name=data.name, email=data.email)


@ROUTER.route(
    "PATCH",
    "/users/{user_id}",
    doc=Doc(
        "Change some of a user's fields (JSON merge patch, RFC 7396)",
        {200: "User"},
        body="UserPatch",
        errors=(404, 409, 412, 503),
        headers=("If-Match",),
        description='An absent member stays as it is; `"email": null` removes the email.',
    ),
)
def patch_user(request: Request, services: Services) -> Response:
    from users_api.models import UserPatch, validate

    user_id = _user_id_param(request)
    auth.require_owner(caller(request, services), user_id)
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
    if not changes:
        return _unchanged(services, user_id, _if_match(request))
    return _update(services, user_id, request, name=name, email=changes.get("email", KEEP))


def _unchanged(services: Services, user_id: str, expected: set[int] | None) -> Response:
    """An empty merge patch changes nothing (RFC 7396): the user as it is, nothing written."""
    user = services.store.get(user_id)
    if user is None:
        raise _not_found(user_id)
    if expected is not None and user.version not in expected:
        raise VersionMismatch(user_id, user.version)
    return _user_response(200, user)


def _update(
    services: Services,
    user_id: str,
    request: Request,
    *,
    name: str | Keep,
    email: str | Keep | None,
) -> Response:
    expected = _if_match(request)
    user = services.store.update(user_id, name=name, email=email, expected_versions=expected)
    return _user_response(200, user)


@ROUTER.route(
    "DELETE",
    "/users/{user_id}",
    doc=Doc("Delete a user", {204: None}, errors=(404, 409, 412, 503), headers=("If-Match",)),
)
def delete_user(request: Request, services: Services) -> Response:
    user_id = _user_id_param(request)
    auth.require_owner(caller(request, services), user_id)
    services.store.delete(user_id, expected_versions=_if_match(request))
    return Response(204)


@ROUTER.route(
    "GET",
    "/openapi.json",
    public=True,
    doc=Doc("This API's OpenAPI 3.1 document", {200: "OpenApiDocument"}, tag="service"),
)
def openapi_document(_: Request, services: Services) -> Response:
    # Built on the first request for it (and kept): importing users_api.openapi imports pydantic
    # and the models, which a cold start that serves users must not pay for.
    from users_api.openapi import document_json

    return Response(200, document_json(services.auth.mode))
