"""The local front's route authorization (tools/localaws/authorizers.py), as API Gateway enforces
it.

JWT: tokens from the local issuer's key (tools/localaws/oidc.py), its discovery document and JWKS
served
to the authorizer in-process; the clock is injected, so expiry needs no waiting. AWS_IAM:
requests signed by botocore's SigV4Auth at a fixed time, checked at another fixed time.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from unittest import mock
from urllib.parse import urlsplit

import boto3
import jwt as pyjwt
import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from cryptography.hazmat.primitives.serialization import load_pem_private_key
from joserfc.jwk import RSAKey
from moto import mock_aws

from tools.localaws.authorizers import (
    INVALID_SECURITY_TOKEN,
    JWKS_REFETCH_INTERVAL_S,
    SIGNATURE_MISMATCH,
    Denial,
    Grant,
    IamAuthorizer,
    JwtAuthorizer,
    RouteAuthorization,
    emulator_principals,
    fetch_json,
    load_route_authorizations,
    render_claim,
)
from tools.localaws.emulator import ACCESS_KEY_ID, ACCOUNT_ID, SECRET_ACCESS_KEY
from tools.localaws.gateway_http import HttpRequest
from tools.localaws.oidc import (
    DISCOVERY_PATH,
    LocalIssuer,
    access_token_claims,
    b64url,
    encode_jwt,
    generate_key,
    key_id,
    private_pem,
    public_jwk,
)

NOW = 1_800_000_000.0  # 2027-01-15T08:00:00Z
AUDIENCE = "users-api-test"


# The request authorization reads: the local front's own (method, target, headers, body).
FakeRequest = HttpRequest


# ------------------------------------------------------------------------------------------ JWT


class Issuer:
    """The local issuer's documents, served in-process (no port), with a key that can rotate."""

    def __init__(self, tmp_path: Path) -> None:
        self.local = LocalIssuer(tmp_path / "oidc", audience=[AUDIENCE])
        self.local.port = 9  # never bound: only its URL and documents are used
        self.fetched: list[str] = []

    @property
    def url(self) -> str:
        return self.local.url

    def fetch(self, url: str) -> Any:
        self.fetched.append(url)
        if url == self.url + DISCOVERY_PATH:
            return self.local.discovery()
        if url == self.local.discovery()["jwks_uri"]:
            return self.local.jwks()
        raise OSError(f"404 {url}")

    def token(self, **overrides: Any) -> str:
        claims = access_token_claims(issuer=self.url, audience=AUDIENCE, sub="user-1", now=NOW)
        claims.update(overrides)
        for name in [name for name, value in claims.items() if value is None]:
            del claims[name]
        header = {"alg": "RS256", "typ": "JWT", "kid": self.local.kid}
        return encode_jwt(header, claims, self.local.key)


@pytest.fixture
def issuer(tmp_path: Path) -> Issuer:
    return Issuer(tmp_path)


@pytest.fixture
def clock() -> list[float]:
    return [NOW + 10]


@pytest.fixture
def jwt_authorizer(issuer: Issuer, clock: list[float]) -> JwtAuthorizer:
    return JwtAuthorizer(
        issuer=issuer.url, audience=(AUDIENCE, "other-client"), fetch=issuer.fetch,
        clock=lambda: clock[0],
    )  # fmt: skip


def bearer(token: str, scheme: str = "Bearer ") -> FakeRequest:
    return FakeRequest("GET", "/users/user-1", [("Authorization", scheme + token)])


def assert_invalid_token(result: Grant | Denial, description: str) -> None:
    assert isinstance(result, Denial)
    assert (result.status, json.loads(result.body)) == (401, {"message": "Unauthorized"})
    assert result.response_headers() == [
        ("content-type", "application/json"),
        (
            "www-authenticate",
            f'Bearer scope="" error="invalid_token" error_description="{description}"',
        ),
    ]


def test_valid_token_passes_its_claims_as_strings_and_null_scopes(
    issuer: Issuer, jwt_authorizer: JwtAuthorizer
) -> None:
    token = issuer.token(scope="users/admin openid", email_verified=True)
    result = jwt_authorizer.check(bearer(token))
    assert isinstance(result, Grant)
    assert result.context is not None
    claims = result.context["jwt"]["claims"]
    assert claims["sub"] == "user-1"
    assert claims["iss"] == issuer.url
    assert claims["aud"] == AUDIENCE
    assert claims["exp"] == str(int(NOW) + 3600)
    assert claims["iat"] == str(int(NOW))
    assert claims["email_verified"] == "true"
    assert claims["scope"] == "users/admin openid"
    assert result.context["jwt"]["scopes"] is None  # the route has no AuthorizationScopes


def test_token_without_the_bearer_prefix_is_accepted(
    issuer: Issuer, jwt_authorizer: JwtAuthorizer
) -> None:
    assert isinstance(jwt_authorizer.check(bearer(issuer.token(), scheme="")), Grant)


@pytest.mark.parametrize("headers", [[], [("Authorization", "")], [("Authorization", "Bearer ")]])
def test_missing_token_is_401_without_a_reason(
    jwt_authorizer: JwtAuthorizer, headers: list[tuple[str, str]]
) -> None:
    result = jwt_authorizer.check(FakeRequest("GET", "/users", headers))
    assert isinstance(result, Denial)
    assert (result.status, json.loads(result.body), result.headers) == (
        401,
        {"message": "Unauthorized"},
        (),
    )


def test_expired_token_is_401(
    issuer: Issuer, jwt_authorizer: JwtAuthorizer, clock: list[float]
) -> None:
    token = issuer.token(exp=int(NOW) + 60)
    clock[0] = NOW + 59
    assert isinstance(jwt_authorizer.check(bearer(token)), Grant)
    clock[0] = NOW + 60  # exp must be after now
    assert_invalid_token(jwt_authorizer.check(bearer(token)), "the token has expired")


def test_token_without_exp_is_401(issuer: Issuer, jwt_authorizer: JwtAuthorizer) -> None:
    assert_invalid_token(
        jwt_authorizer.check(bearer(issuer.token(exp=None))), "the token has expired"
    )


def test_token_not_valid_yet_is_401(issuer: Issuer, jwt_authorizer: JwtAuthorizer) -> None:
    token = issuer.token(nbf=int(NOW) + 3000)
    assert_invalid_token(jwt_authorizer.check(bearer(token)), "the token is not valid yet")


def test_token_issued_in_the_future_is_401(issuer: Issuer, jwt_authorizer: JwtAuthorizer) -> None:
    token = issuer.token(iat=int(NOW) + 3000, nbf=None)
    assert_invalid_token(jwt_authorizer.check(bearer(token)), "the token is issued in the future")


@pytest.mark.parametrize("iss", ["https://evil.example.com", None, "ISSUER"])
def test_wrong_issuer_is_401(
    issuer: Issuer, jwt_authorizer: JwtAuthorizer, iss: str | None
) -> None:
    value = issuer.url.upper() if iss == "ISSUER" else iss
    token = issuer.token(iss=value)
    assert_invalid_token(
        jwt_authorizer.check(bearer(token)), "the token does not have a valid issuer"
    )


def test_issuer_is_compared_exactly_even_a_trailing_slash(
    issuer: Issuer, jwt_authorizer: JwtAuthorizer
) -> None:
    token = issuer.token(iss=issuer.url + "/")
    assert_invalid_token(
        jwt_authorizer.check(bearer(token)), "the token does not have a valid issuer"
    )


def test_wrong_audience_is_401(issuer: Issuer, jwt_authorizer: JwtAuthorizer) -> None:
    token = issuer.token(aud="someone-else")
    assert_invalid_token(
        jwt_authorizer.check(bearer(token)), "the token does not have a valid audience"
    )


def test_one_matching_audience_in_a_list_is_enough(
    issuer: Issuer, jwt_authorizer: JwtAuthorizer
) -> None:
    assert isinstance(jwt_authorizer.check(bearer(issuer.token(aud=["x", "other-client"]))), Grant)


def test_client_id_counts_only_without_aud(issuer: Issuer, jwt_authorizer: JwtAuthorizer) -> None:
    # Cognito access tokens carry client_id and no aud.
    assert isinstance(
        jwt_authorizer.check(bearer(issuer.token(aud=None, client_id=AUDIENCE))), Grant
    )
    both = issuer.token(aud="someone-else", client_id=AUDIENCE)
    assert_invalid_token(
        jwt_authorizer.check(bearer(both)), "the token does not have a valid audience"
    )
    neither = issuer.token(aud=None)
    assert_invalid_token(
        jwt_authorizer.check(bearer(neither)), "the token does not have a valid audience"
    )


def test_tampered_payload_is_401(issuer: Issuer, jwt_authorizer: JwtAuthorizer) -> None:
    header, _, signature = issuer.token(sub="user-1").split(".")
    claims = access_token_claims(issuer=issuer.url, audience=AUDIENCE, sub="admin", now=NOW)
    forged = f"{header}.{b64url(json.dumps(claims).encode())}.{signature}"
    assert_invalid_token(jwt_authorizer.check(bearer(forged)), "the token signature is invalid")


def test_alg_none_is_401(issuer: Issuer, jwt_authorizer: JwtAuthorizer) -> None:
    claims = access_token_claims(issuer=issuer.url, audience=AUDIENCE, sub="user-1", now=NOW)
    for alg in ("none", "None"):
        unsigned = encode_jwt({"alg": "none", "kid": issuer.local.kid}, claims, None)
        if alg != "none":
            header = b64url(json.dumps({"alg": alg, "kid": issuer.local.kid}).encode())
            unsigned = header + unsigned[unsigned.index(".") :]
        assert_invalid_token(
            jwt_authorizer.check(bearer(unsigned)), f"signing method {alg} is invalid"
        )


def test_hmac_signed_with_the_public_key_is_401(
    issuer: Issuer, jwt_authorizer: JwtAuthorizer
) -> None:
    # The classic algorithm confusion: HS256 keyed with the issuer's public key.
    claims = access_token_claims(issuer=issuer.url, audience=AUDIENCE, sub="user-1", now=NOW)
    header = {"alg": "HS256", "kid": issuer.local.kid}
    signing_input = b64url(json.dumps(header).encode()) + "." + b64url(json.dumps(claims).encode())
    secret = json.dumps(issuer.local.jwks()["keys"][0]).encode()
    mac = hmac.new(secret, signing_input.encode(), hashlib.sha256).digest()
    token = signing_input + "." + b64url(mac)
    assert_invalid_token(jwt_authorizer.check(bearer(token)), "signing method HS256 is invalid")


def test_token_signed_with_another_key_under_the_issuers_kid_is_401(
    issuer: Issuer, jwt_authorizer: JwtAuthorizer
) -> None:
    claims = access_token_claims(issuer=issuer.url, audience=AUDIENCE, sub="user-1", now=NOW)
    token = encode_jwt({"alg": "RS256", "kid": issuer.local.kid}, claims, generate_key())
    assert_invalid_token(jwt_authorizer.check(bearer(token)), "the token signature is invalid")


def test_token_with_a_kid_the_issuer_does_not_publish_is_401(
    issuer: Issuer, jwt_authorizer: JwtAuthorizer
) -> None:
    stranger = generate_key()
    claims = access_token_claims(issuer=issuer.url, audience=AUDIENCE, sub="user-1", now=NOW)
    for header in ({"alg": "RS256", "kid": key_id(stranger)}, {"alg": "RS256"}):
        token = encode_jwt(header, claims, stranger)
        assert_invalid_token(
            jwt_authorizer.check(bearer(token)),
            "the token's kid does not match a key of the issuer",
        )


@pytest.mark.parametrize(
    "token",
    ["abc", "a.b", "a.b.c.d", "!!!.e30.", "e30.!!!.", b64url(b"[1]") + "." + b64url(b"{}") + "."],
)
def test_malformed_token_is_401(jwt_authorizer: JwtAuthorizer, token: str) -> None:
    assert_invalid_token(jwt_authorizer.check(bearer(token)), "the token is malformed")


@pytest.mark.parametrize("alg", ["RS384", "RS512"])
def test_other_rsa_algorithms_are_accepted_from_a_key_not_bound_to_one(
    issuer: Issuer, clock: list[float], alg: str
) -> None:
    authorizer = _authorizer_with_jwk(issuer, clock, alg=None)  # the JWK's alg is optional
    claims = access_token_claims(issuer=issuer.url, audience=AUDIENCE, sub="user-1", now=NOW)
    token = encode_jwt({"alg": alg, "kid": issuer.local.kid}, claims, issuer.local.key)
    assert isinstance(authorizer.check(bearer(token)), Grant)


def test_keys_are_fetched_through_discovery_once_and_again_for_a_new_kid(
    issuer: Issuer, jwt_authorizer: JwtAuthorizer
) -> None:
    for _ in range(3):
        assert isinstance(jwt_authorizer.check(bearer(issuer.token())), Grant)
    assert issuer.fetched == [issuer.url + DISCOVERY_PATH, issuer.local.discovery()["jwks_uri"]]

    # The issuer rotates its key: a token with the new kid makes the authorizer look again.
    issuer.local.key = generate_key()
    issuer.local.kid = key_id(issuer.local.key)
    assert isinstance(jwt_authorizer.check(bearer(issuer.token())), Grant)
    assert len(issuer.fetched) == 4


def test_issuer_that_cannot_be_reached_denies(issuer: Issuer, clock: list[float]) -> None:
    def unreachable(url: str) -> Any:
        raise OSError("connection refused")

    authorizer = JwtAuthorizer(issuer.url, (AUDIENCE,), fetch=unreachable, clock=lambda: clock[0])
    assert_invalid_token(
        authorizer.check(bearer(issuer.token())),
        "the token's kid does not match a key of the issuer",
    )


def test_route_scopes_missing_from_the_token_are_403(
    issuer: Issuer, jwt_authorizer: JwtAuthorizer
) -> None:
    result = jwt_authorizer.check(bearer(issuer.token(scope="openid")), ["users/admin"])
    assert isinstance(result, Denial)
    assert (result.status, json.loads(result.body)) == (403, {"message": "Forbidden"})
    assert result.headers == (
        (
            "www-authenticate",
            'Bearer scope="users/admin" error="insufficient_scope" '
            'error_description="expected scopes: [users/admin]"',
        ),
    )


def test_one_route_scope_in_scope_or_scp_is_enough_and_scopes_are_passed_on(
    issuer: Issuer, jwt_authorizer: JwtAuthorizer
) -> None:
    route_scopes = ["users/admin", "users/read"]
    result = jwt_authorizer.check(bearer(issuer.token(scope="openid users/read")), route_scopes)
    assert isinstance(result, Grant)
    assert result.context is not None
    assert result.context["jwt"]["scopes"] == ["openid", "users/read"]
    scp = jwt_authorizer.check(bearer(issuer.token(scope=None, scp=["users/admin"])), route_scopes)
    assert isinstance(scp, Grant)


@pytest.mark.parametrize(
    ("value", "rendered"),
    [
        ("a", "a"),
        (7, "7"),
        (1.5, "1.5"),
        (False, "false"),
        (["a", "b"], "[a b]"),
        ({"k": 1}, '{"k":1}'),
    ],
)
def test_claims_are_rendered_as_strings(value: Any, rendered: str) -> None:
    assert render_claim(value) == rendered


# -------------------------------------------------------------------------------------- AWS_IAM

SIGNED_AT = datetime(2027, 1, 15, 8, 0, 0, tzinfo=UTC)
HOST = "127.0.0.1:3000"


def signed(
    method: str,
    target: str,
    *,
    body: bytes = b"",
    headers: dict[str, str] | None = None,
    access_key: str = ACCESS_KEY_ID,
    secret_key: str = SECRET_ACCESS_KEY,
    region: str = "us-east-1",
    service: str = "execute-api",
    at: datetime = SIGNED_AT,
) -> FakeRequest:
    """A request as a client signs it with botocore (Authorization, X-Amz-Date; Host signed)."""
    aws_request = AWSRequest(
        method=method, url=f"http://{HOST}{target}", data=body, headers=headers or {}
    )
    with mock.patch("botocore.auth.get_current_datetime", return_value=at.replace(tzinfo=None)):
        SigV4Auth(Credentials(access_key, secret_key), service, region).add_auth(aws_request)
    sent = [("Host", urlsplit(aws_request.url).netloc)]
    sent += [(name, str(value)) for name, value in aws_request.headers.items()]
    return FakeRequest(method, target, sent, body)


@pytest.fixture
def iam() -> IamAuthorizer:
    principals = emulator_principals(ACCESS_KEY_ID, SECRET_ACCESS_KEY, ACCOUNT_ID)
    return IamAuthorizer(principals, "us-east-1", clock=lambda: SIGNED_AT.timestamp() + 30)


def assert_iam_denied(result: Grant | Denial, message: str) -> None:
    assert isinstance(result, Denial)
    assert (result.status, json.loads(result.body)) == (403, {"message": message})
    assert result.response_headers() == [("content-type", "application/json")]


def test_signed_request_passes_the_iam_identity(iam: IamAuthorizer) -> None:
    result = iam.check(signed("GET", "/users/01"))
    assert isinstance(result, Grant)
    assert result.context == {
        "iam": {
            "accessKey": ACCESS_KEY_ID,
            "accountId": "123456789012",
            "callerId": result.context["iam"]["userId"],
            "cognitoIdentity": None,
            "principalOrgId": None,
            "userArn": "arn:aws:iam::123456789012:user/test",
            "userId": result.context["iam"]["userId"],
        }
    }
    assert result.context["iam"]["userId"].startswith("AIDA")


def test_signed_request_with_body_and_query_passes(iam: IamAuthorizer) -> None:
    body = json.dumps({"user_id": "01", "name": "Joy"}).encode()
    request = signed(
        "POST", "/users?a=1&b=x%20y", body=body, headers={"Content-Type": "application/json"}
    )
    assert isinstance(iam.check(request), Grant)


def test_body_changed_after_signing_is_403(iam: IamAuthorizer) -> None:
    request = signed("POST", "/users", body=b'{"user_id":"01"}')
    request.body = b'{"user_id":"02"}'
    assert_iam_denied(iam.check(request), SIGNATURE_MISMATCH)


def test_query_changed_after_signing_is_403(iam: IamAuthorizer) -> None:
    request = signed("GET", "/users?id=01")
    request.target = "/users?id=02"
    assert_iam_denied(iam.check(request), SIGNATURE_MISMATCH)


def test_path_or_method_changed_after_signing_is_403(iam: IamAuthorizer) -> None:
    request = signed("GET", "/users/01")
    request.target = "/users/02"
    assert_iam_denied(iam.check(request), SIGNATURE_MISMATCH)
    request = signed("GET", "/users/01")
    request.method = "DELETE"
    assert_iam_denied(iam.check(request), SIGNATURE_MISMATCH)


def test_signed_header_changed_after_signing_is_403(iam: IamAuthorizer) -> None:
    request = signed("GET", "/users/01", headers={"X-Custom": "a"})
    request.headers = [(k, "b" if k == "X-Custom" else v) for k, v in request.headers]
    assert_iam_denied(iam.check(request), SIGNATURE_MISMATCH)


def test_unsigned_header_added_after_signing_is_ignored(iam: IamAuthorizer) -> None:
    request = signed("GET", "/users/01")
    request.headers.append(("User-Agent", "curl/8"))
    assert isinstance(iam.check(request), Grant)


def test_unsigned_request_is_403_forbidden(iam: IamAuthorizer) -> None:
    assert_iam_denied(iam.check(FakeRequest("GET", "/users/01", [("Host", HOST)])), "Forbidden")


def test_bearer_token_on_an_iam_route_is_403_forbidden(iam: IamAuthorizer) -> None:
    request = FakeRequest("GET", "/users/01", [("Host", HOST), ("Authorization", "Bearer x.y.z")])
    assert_iam_denied(iam.check(request), "Forbidden")


def test_wrong_secret_is_403_signature_mismatch(iam: IamAuthorizer) -> None:
    assert_iam_denied(iam.check(signed("GET", "/users/01", secret_key="wrong")), SIGNATURE_MISMATCH)


def test_unknown_access_key_is_403_invalid_token(iam: IamAuthorizer) -> None:
    request = signed("GET", "/users/01", access_key="AKIAUNKNOWN")
    assert_iam_denied(iam.check(request), INVALID_SECURITY_TOKEN)


def test_signature_for_another_service_or_region_is_403(iam: IamAuthorizer) -> None:
    assert_iam_denied(
        iam.check(signed("GET", "/users/01", service="s3")),
        "Credential should be scoped to correct service: 'execute-api'. ",
    )
    assert_iam_denied(
        iam.check(signed("GET", "/users/01", region="eu-west-1")),
        "Credential should be scoped to a valid region. ",
    )


def test_stale_signature_is_403_signature_expired() -> None:
    principals = emulator_principals(ACCESS_KEY_ID, SECRET_ACCESS_KEY, ACCOUNT_ID)
    checked_at = SIGNED_AT.timestamp() + 5 * 60 + 1
    iam = IamAuthorizer(principals, "us-east-1", clock=lambda: checked_at)
    assert_iam_denied(
        iam.check(signed("GET", "/users/01")),
        "Signature expired: 20270115T080000Z is now earlier than 20270115T080001Z"
        " (20270115T080501Z - 5 min.)",
    )
    within = IamAuthorizer(principals, "us-east-1", clock=lambda: SIGNED_AT.timestamp() + 300)
    assert isinstance(within.check(signed("GET", "/users/01")), Grant)


def test_signature_from_the_future_is_403() -> None:
    principals = emulator_principals(ACCESS_KEY_ID, SECRET_ACCESS_KEY, ACCOUNT_ID)
    iam = IamAuthorizer(principals, "us-east-1", clock=lambda: SIGNED_AT.timestamp() - 301)
    assert_iam_denied(
        iam.check(signed("GET", "/users/01")),
        "Signature not yet current: 20270115T080000Z is still later than 20270115T075959Z"
        " (20270115T075459Z + 5 min.)",
    )


def test_authorization_without_a_date_header_is_403_incomplete(iam: IamAuthorizer) -> None:
    request = signed("GET", "/users/01")
    request.headers = [(k, v) for k, v in request.headers if k.lower() != "x-amz-date"]
    result = iam.check(request)
    assert isinstance(result, Denial)
    assert result.status == 403
    assert "requires existence of either a 'X-Amz-Date' or a 'Date' header" in result.message


# --------------------------------------------------------------------------------------- routes


def test_route_without_authorization_is_granted_with_no_context() -> None:
    assert RouteAuthorization().check(FakeRequest("GET", "/hello", [])) == Grant(None)


def test_route_whose_type_cannot_be_enforced_is_refused_not_waved_through() -> None:
    result = RouteAuthorization("CUSTOM").check(FakeRequest("GET", "/users", []))
    assert isinstance(result, Denial)
    assert result.status == 500


@pytest.fixture
def apigw() -> Iterator[Any]:
    with mock_aws():
        yield boto3.client("apigatewayv2", region_name="us-east-1")


def test_route_authorizations_are_read_from_the_deployed_api(apigw: Any, issuer: Issuer) -> None:
    api_id = apigw.create_api(Name="users", ProtocolType="HTTP")["ApiId"]
    authorizer_id = apigw.create_authorizer(
        ApiId=api_id,
        Name="jwt",
        AuthorizerType="JWT",
        IdentitySource=["$request.header.Authorization"],
        JwtConfiguration={"Issuer": issuer.url, "Audience": [AUDIENCE]},
    )["AuthorizerId"]
    apigw.create_route(
        ApiId=api_id, RouteKey="GET /users", AuthorizationType="JWT", AuthorizerId=authorizer_id
    )
    apigw.create_route(
        ApiId=api_id,
        RouteKey="DELETE /users/{user_id}",
        AuthorizationType="JWT",
        AuthorizerId=authorizer_id,
        AuthorizationScopes=["users/admin"],
    )
    apigw.create_route(ApiId=api_id, RouteKey="GET /hello", AuthorizationType="NONE")
    apigw.create_route(ApiId=api_id, RouteKey="$default", AuthorizationType="AWS_IAM")
    routes = apigw.get_routes(ApiId=api_id)["Items"]

    found = load_route_authorizations(
        apigw,
        api_id,
        routes,
        region="us-east-1",
        principals=emulator_principals(ACCESS_KEY_ID, SECRET_ACCESS_KEY, ACCOUNT_ID),
        fetch=issuer.fetch,
        clock=lambda: NOW,
    )

    assert {key: auth.authorization_type for key, auth in found.items()} == {
        "GET /users": "JWT",
        "DELETE /users/{user_id}": "JWT",
        "GET /hello": "NONE",
        "$default": "AWS_IAM",
    }
    listing = found["GET /users"]
    assert listing.jwt is not None
    assert (listing.jwt.issuer, listing.jwt.audience) == (issuer.url, (AUDIENCE,))
    assert listing.jwt is found["DELETE /users/{user_id}"].jwt  # one authorizer, one key cache
    assert found["DELETE /users/{user_id}"].scopes == ("users/admin",)
    assert isinstance(listing.check(bearer(issuer.token())), Grant)
    denied = found["DELETE /users/{user_id}"].check(bearer(issuer.token()))
    assert isinstance(denied, Denial)
    assert denied.status == 403
    unsigned = found["$default"].check(FakeRequest("GET", "/x", [("Host", HOST)]))
    assert isinstance(unsigned, Denial)
    assert unsigned.status == 403


def test_public_jwk_verifies_the_issuers_tokens_in_pyjwt(issuer: Issuer) -> None:
    jwk = public_jwk(issuer.local.key)
    assert "d" not in jwk
    assert jwk["kid"] == key_id(issuer.local.key) != key_id(generate_key())
    decoded = pyjwt.decode(
        issuer.token(),
        pyjwt.PyJWK(jwk).key,
        algorithms=["RS256"],
        audience=AUDIENCE,
        options={"verify_exp": False, "verify_nbf": False, "verify_iat": False},
    )
    assert decoded["sub"] == "user-1"


def test_key_id_is_the_rfc_7638_thumbprint() -> None:
    # RFC 7638 section 3.1's example key and its thumbprint.
    n = (
        "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJE"
        "CPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2"
        "QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQF"
        "h6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw"
    )
    key = RSAKey.import_key(
        {"kty": "RSA", "n": n, "e": "AQAB", "alg": "RS256", "kid": "2011-04-29"}
    )
    assert key_id(key) == "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"


# ------------------------------------------------ JOSE strictness and a second implementation


def _pyjwt_token(issuer: Issuer, *, alg: str = "RS256", headers: Any = None, **claims: Any) -> str:
    """A token PyJWT signs with the issuer's private key: an implementation independent of ours."""
    body = access_token_claims(issuer=issuer.url, audience=AUDIENCE, sub="user-1", now=NOW)
    body.update(claims)
    header = {"kid": issuer.local.kid, **(headers or {})}
    if issuer.local.kid not in _pyjwt_keys:  # loading a PEM checks the key: 0.1 s
        _pyjwt_keys[issuer.local.kid] = load_pem_private_key(private_pem(issuer.local.key), None)
    return pyjwt.encode(body, _pyjwt_keys[issuer.local.kid], algorithm=alg, headers=header)


_pyjwt_keys: dict[str, Any] = {}


def test_token_signed_by_pyjwt_is_accepted_with_its_claims(
    issuer: Issuer, jwt_authorizer: JwtAuthorizer
) -> None:
    token = _pyjwt_token(issuer, groups=["users/admin", "openid"], email_verified=True)
    result = jwt_authorizer.check(bearer(token))
    assert isinstance(result, Grant)
    assert result.context is not None
    claims = result.context["jwt"]["claims"]
    assert claims["sub"] == "user-1"
    assert claims["groups"] == "[users/admin openid]"  # as API Gateway renders an array
    assert claims["email_verified"] == "true"


def test_null_claims_are_omitted_as_api_gateway_does(
    issuer: Issuer, jwt_authorizer: JwtAuthorizer
) -> None:
    result = jwt_authorizer.check(bearer(_pyjwt_token(issuer, nickname=None, locale="en")))
    assert isinstance(result, Grant)
    assert result.context is not None
    claims = result.context["jwt"]["claims"]
    assert "nickname" not in claims
    assert claims["locale"] == "en"


def test_token_with_an_unknown_crit_header_is_401(
    issuer: Issuer, jwt_authorizer: JwtAuthorizer
) -> None:
    # RFC 7515 section 4.1.11: a recipient that does not understand a critical header refuses.
    token = _pyjwt_token(issuer, headers={"crit": ["x-must-understand"], "x-must-understand": 1})
    result = jwt_authorizer.check(bearer(token))
    assert isinstance(result, Denial)
    assert result.status == 401


def _authorizer_with_jwk(
    issuer: Issuer, clock: list[float], **jwk_fields: str | None
) -> JwtAuthorizer:
    """An authorizer whose issuer publishes its key with these JWK fields (None: without it)."""

    def fetch(url: str) -> Any:
        if url.endswith(DISCOVERY_PATH):
            return issuer.local.discovery()
        jwk = {**issuer.local.jwks()["keys"][0], **jwk_fields}
        return {"keys": [{name: value for name, value in jwk.items() if value is not None}]}

    return JwtAuthorizer(issuer.url, (AUDIENCE,), fetch=fetch, clock=lambda: clock[0])


def test_a_key_published_for_encryption_does_not_verify_signatures(
    issuer: Issuer, clock: list[float]
) -> None:
    authorizer = _authorizer_with_jwk(issuer, clock, use="enc")
    result = authorizer.check(bearer(_pyjwt_token(issuer)))
    assert isinstance(result, Denial)
    assert result.status == 401


def test_a_keys_alg_is_honoured(issuer: Issuer, clock: list[float]) -> None:
    # The issuer publishes its key for RS256: an RS384 token under that kid is refused.
    authorizer = _authorizer_with_jwk(issuer, clock, alg="RS256")
    assert isinstance(authorizer.check(bearer(_pyjwt_token(issuer, alg="RS256"))), Grant)
    refused = authorizer.check(bearer(_pyjwt_token(issuer, alg="RS384")))
    assert isinstance(refused, Denial)
    assert refused.status == 401


def test_unknown_kids_refetch_the_jwks_at_most_once_per_interval(
    issuer: Issuer, jwt_authorizer: JwtAuthorizer, clock: list[float]
) -> None:
    assert isinstance(jwt_authorizer.check(bearer(issuer.token())), Grant)
    fetched = len(issuer.fetched)
    for index in range(20):
        stranger = _pyjwt_token(issuer, headers={"kid": f"unknown-{index}"})
        assert isinstance(jwt_authorizer.check(bearer(stranger)), Denial)
    assert len(issuer.fetched) <= fetched + 2  # one refetch (discovery + JWKS), not twenty
    clock[0] += JWKS_REFETCH_INTERVAL_S + 1
    jwt_authorizer.check(bearer(_pyjwt_token(issuer, headers={"kid": "unknown-later"})))
    assert len(issuer.fetched) == fetched + 4  # the interval passed: one more


@pytest.mark.parametrize("scheme", ["file", "ftp", "data"])
def test_only_http_and_https_urls_are_fetched(tmp_path: Path, scheme: str) -> None:
    document = tmp_path / "jwks.json"
    document.write_text('{"keys": []}')
    url = {
        "file": document.as_uri(),
        "ftp": "ftp://127.0.0.1/jwks.json",
        "data": "data:application/json,%7B%22keys%22%3A%5B%5D%7D",
    }[scheme]
    with pytest.raises(ValueError, match="http"):
        fetch_json(url)
