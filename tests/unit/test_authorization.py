"""Authorization in the function: the gateway authenticates (requestContext.authorizer), the
function decides — own profile only, admin scope for everything, 401 without an identity, 403
for an identity that may not, and nothing written when refused."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from tests.unit.conftest import Api, stored_users

ADMIN_SCOPE = "users/admin"


def jwt(sub: str, *scopes: str) -> dict[str, Any]:
    """requestContext.authorizer as API Gateway's JWT authorizer writes it."""
    claims = {"sub": sub, "iss": "https://issuer.example.com/", "scope": " ".join(scopes)}
    return {"jwt": {"claims": claims, "scopes": list(scopes) or None}}


def iam(arn: str) -> dict[str, Any]:
    return {
        "iam": {
            "accessKey": "AKIAEXAMPLE",
            "accountId": "123456789012",
            "callerId": "AIDAEXAMPLE",
            "cognitoIdentity": None,
            "principalOrgId": None,
            "userArn": arn,
            "userId": "AIDAEXAMPLE",
        }
    }


ANN, BOB, ADMIN = jwt("ann"), jwt("bob"), jwt("root", ADMIN_SCOPE)


@pytest.fixture
def as_jwt(api: Api, use_auth: Callable[..., None]) -> Api:
    use_auth(mode="JWT", admin_scope=ADMIN_SCOPE)
    for who in ("ann", "bob"):
        result = api("POST", "/users", body={"name": who}, authorizer=jwt(who))
        assert result.status == 201, result.body
    return api


def test_without_an_identity_every_route_but_hello_is_401(as_jwt: Api, dynamodb: Any) -> None:
    # Identity headers a client can send itself are never trusted.
    forged = {"Authorization": "Bearer eyJ.forged.token", "X-User-Id": "ann"}
    for method, path, body in [
        ("POST", "/users", {"name": "Eve"}),
        ("GET", "/users", None),
        ("GET", "/users/ann", None),
        ("PUT", "/users/ann", {"name": "Eve"}),
        ("PATCH", "/users/ann", {"name": "Eve"}),
        ("DELETE", "/users/ann", None),
        ("GET", "/nowhere", None),
    ]:
        result = as_jwt(method, path, body=body, headers=forged)
        if path == "/nowhere":
            assert result.status == 404  # no route: nothing to authorize
            continue
        assert result.status == 401, (method, path)
        assert result.body["code"] == "unauthorized"
        assert result.headers["WWW-Authenticate"] == "Bearer"
    assert as_jwt("GET", "/hello").status == 200
    assert set(stored_users(dynamodb)) == {"ann", "bob"}


def test_a_caller_acts_on_its_own_profile(as_jwt: Api) -> None:
    assert as_jwt("GET", "/users/ann", authorizer=ANN).status == 200
    assert as_jwt("GET", "/users", query={"id": "ann"}, authorizer=ANN).status == 200
    assert as_jwt("PATCH", "/users/ann", body={"name": "Ann B"}, authorizer=ANN).status == 200
    assert as_jwt("PUT", "/users/ann", body={"name": "Ann C"}, authorizer=ANN).status == 200
    assert as_jwt("DELETE", "/users/ann", authorizer=ANN).status == 204


def test_create_without_user_id_takes_the_sub_and_another_user_id_is_403(
    as_jwt: Api, dynamodb: Any
) -> None:
    carol = jwt("carol")

    other = as_jwt("POST", "/users", body={"user_id": "mallory", "name": "M"}, authorizer=carol)
    own = as_jwt("POST", "/users", body={"name": "Carol"}, authorizer=carol)

    assert other.status == 403
    assert other.body["code"] == "forbidden"
    assert own.status == 201
    assert own.body["user_id"] == "carol"
    assert "mallory" not in stored_users(dynamodb)


@pytest.mark.parametrize(
    ("method", "path", "kwargs"),
    [
        ("GET", "/users/bob", {}),
        ("GET", "/users", {"query": {"id": "bob"}}),
        ("PUT", "/users/bob", {"body": {"name": "Owned"}}),
        ("PATCH", "/users/bob", {"body": {"name": "Owned"}}),
        ("PATCH", "/users/bob", {"body": {}}),
        ("DELETE", "/users/bob", {}),
        ("GET", "/users/nobody", {}),  # no existence oracle: 403 before any read
    ],
)
def test_another_users_profile_is_403_and_untouched(
    as_jwt: Api, dynamodb: Any, calls: list[str], method: str, path: str, kwargs: dict[str, Any]
) -> None:
    before = stored_users(dynamodb)
    calls.clear()

    result = as_jwt(method, path, authorizer=ANN, **kwargs)

    assert result.status == 403
    assert result.body["code"] == "forbidden"
    assert calls == []
    assert stored_users(dynamodb) == before


@pytest.mark.parametrize("query", [{}, {"limit": "5"}, {"email": "bob@example.com"}])
def test_listing_and_lookup_by_email_are_admin_only(as_jwt: Api, query: dict[str, str]) -> None:
    assert (
        as_jwt("PATCH", "/users/bob", body={"email": "bob@example.com"}, authorizer=BOB).status
        == 200
    )

    refused = as_jwt("GET", "/users", query=query, authorizer=ANN)
    allowed = as_jwt("GET", "/users", query=query, authorizer=ADMIN)

    assert refused.status == 403
    assert allowed.status == 200


def test_the_admin_scope_may_do_everything(as_jwt: Api) -> None:
    assert (
        as_jwt("POST", "/users", body={"user_id": "dave", "name": "D"}, authorizer=ADMIN).status
        == 201
    )
    assert as_jwt("GET", "/users/bob", authorizer=ADMIN).status == 200
    assert as_jwt("PATCH", "/users/bob", body={"name": "B"}, authorizer=ADMIN).status == 200
    assert as_jwt("DELETE", "/users/dave", authorizer=ADMIN).status == 204


def test_scopes_from_the_scope_claim_count_when_the_authorizer_lists_none(as_jwt: Api) -> None:
    claims_only = {"jwt": {"claims": {"sub": "root", "scope": f"openid {ADMIN_SCOPE}"}}}

    assert as_jwt("GET", "/users", authorizer=claims_only).status == 200


@pytest.mark.parametrize(
    "claims",
    [
        {"scp": f"[{ADMIN_SCOPE} openid]"},  # an array claim, as API Gateway renders it
        {"scp": f"[openid {ADMIN_SCOPE}]"},
        {"scope": f"[{ADMIN_SCOPE}]"},
    ],
)
def test_an_array_scope_claim_rendered_by_api_gateway_grants_the_admin_scope(
    as_jwt: Api, claims: dict[str, str]
) -> None:
    rendered = {"jwt": {"claims": {"sub": "root", **claims}}}

    assert as_jwt("GET", "/users", authorizer=rendered).status == 200


def test_an_array_claim_without_the_admin_scope_is_refused(as_jwt: Api) -> None:
    rendered = {"jwt": {"claims": {"sub": "root", "scp": "[openid profile]"}}}

    assert as_jwt("GET", "/users", authorizer=rendered).status == 403


def test_profile_reads_any_lets_signed_in_callers_read_but_not_write_others(
    api: Api, use_auth: Callable[..., None]
) -> None:
    use_auth(mode="JWT", profile_reads="any")
    api("POST", "/users", body={"name": "Bob"}, authorizer=BOB)

    assert api("GET", "/users/bob", authorizer=ANN).status == 200
    assert api("PATCH", "/users/bob", body={"name": "X"}, authorizer=ANN).status == 403
    assert api("GET", "/users/bob").status == 401


def test_a_sub_that_is_not_a_user_id_cannot_create_its_profile(as_jwt: Api) -> None:
    result = as_jwt("POST", "/users", body={"name": "Zed"}, authorizer=jwt("auth0|5f7c"))

    assert result.status == 403
    assert "sub" in result.body["error"]


def test_iam_callers_are_trusted_and_unsigned_ones_are_401(
    api: Api, use_auth: Callable[..., None]
) -> None:
    use_auth(mode="AWS_IAM")
    service = iam("arn:aws:iam::123456789012:role/billing")

    assert (
        api("POST", "/users", body={"user_id": "u1", "name": "U"}, authorizer=service).status == 201
    )
    assert api("GET", "/users", authorizer=service).status == 200
    assert api("DELETE", "/users/u1", authorizer=service).status == 204
    unsigned = api("GET", "/users/u1")
    assert unsigned.status == 401
    assert unsigned.body["code"] == "unauthorized"
    assert api("GET", "/users/u1", authorizer=jwt("ann")).status == 401  # the wrong kind


def test_an_open_api_lets_everyone_do_everything(api: Api) -> None:
    assert api("POST", "/users", body={"user_id": "u1", "name": "U"}).status == 201
    assert api("GET", "/users").status == 200
    assert api("DELETE", "/users/u1").status == 204
