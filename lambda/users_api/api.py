"""The API: its resources' routers composed into one, what the whole API answers to the
outcomes every resource shares, and the OpenAPI document of the result.

A resource is a package with its own router, schema and repository (users_api.users); adding one
is an import and an `include_router` line here (and its table in Terraform's `tables` map).
"""

from __future__ import annotations

from typing import Final

from users_api import service, users
from users_api.deadline import DeadlineExceeded
from users_api.dynamo import ClaimLost, Contention, Unavailable
from users_api.errors import Conflict, HttpError, ServiceUnavailable, UnprocessableContent
from users_api.http import Request, Response
from users_api.idempotency import IdempotencyKeyInFlight, IdempotencyKeyReused
from users_api.routing import ApiInfo, Doc, Router
from users_api.rules import MAX_NAME_LENGTH
from users_api.services import Services, caller

ROUTER: Router[Services] = Router()
ROUTER.include_router(users.router)
ROUTER.include_router(service.router)
ROUTER.guard = caller  # every non-public route needs a caller (401 otherwise)

# `{mode}` is filled in per document (openapi.build), `{max_name}` here.
_DESCRIPTION: Final = """A user API: one Lambda behind an API Gateway HTTP API, DynamoDB storage.

Every error is `{{"error": "...", "code": "..."}}` (some codes add details, see `Error`); answers
of API Gateway itself (throttling, its limits, an authorizer's refusal) are `{{"message": "..."}}`.
A known path with another method is a 405 with `Allow`; an unknown path, a 404 `route_not_found`.
Writes take `If-Match` with a read's `ETag` (optimistic concurrency). Names are 1-{max_name}
characters without control characters; emails are stored lower-case and unique.

Authorization of this stack: `{mode}`."""

INFO: Final = ApiInfo(
    title="Users API",
    version="1.0.0",
    description=_DESCRIPTION.replace("{max_name}", str(MAX_NAME_LENGTH)),
    # Who answers for the API and under which terms: the template's; a fork states its own.
    contact="The Users API maintainers",
    license="MIT",
)


# -- outcomes every resource shares -> HTTP errors ----------------------------------------------


@ROUTER.error(Contention)
def _contention(error: Contention) -> HttpError:
    return Conflict(
        f"{error.key!r} is being changed by other requests; retry",
        code="concurrent_update",
        retry_after_s=1,
    )


@ROUTER.error(Unavailable)
def _unavailable(_: Unavailable) -> HttpError:
    return ServiceUnavailable("The store is busy or unavailable; retry shortly")


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


@ROUTER.route(
    "GET",
    "/openapi.json",
    public=True,
    doc=Doc(
        "This API's OpenAPI 3.1 document",
        {200: "OpenApiDocument"},
        tag="service",
        description="The document of this stack's own authorization mode (public).",
    ),
)
def openapi_document(_: Request, services: Services) -> Response:
    # Built on the first request for it (and kept): importing users_api.openapi imports pydantic
    # and the models, which a cold start that serves users must not pay for.
    from users_api.openapi import document_json

    return Response(200, document_json(ROUTER, INFO, services.auth.mode))
