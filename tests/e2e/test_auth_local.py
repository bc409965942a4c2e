"""Authorization end to end, as `make local AUTH=jwt` and `make local AUTH=iam` serve it: HTTP ->
the local front enforcing what Terraform deployed (tools/localaws/authorizers.py) -> the function
deciding
what the caller may do -> DynamoDB in the emulator.

JWT: tokens from the session's local OIDC issuer (tools/localaws/oidc.py), which the JWT stack
trusts.
AWS_IAM: requests signed with botocore's SigV4Auth, and with curl --aws-sigv4 as the README shows.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import time
import uuid
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from tests.conftest import JWT_AUDIENCE
from tests.e2e.conftest import serve_stack
from tests.e2e.test_local_stack import Client, Reply
from tools.localaws.authorizers import INVALID_SECURITY_TOKEN, SIGNATURE_MISMATCH
from tools.localaws.emulator import ACCESS_KEY_ID, REGION, SECRET_ACCESS_KEY
from tools.localaws.gateway import LocalGateway
from tools.localaws.oidc import access_token_claims, encode_jwt, generate_key

if TYPE_CHECKING:
    from tests.conftest import EmulatorStack
    from tools.localaws.oidc import LocalIssuer

pytestmark = pytest.mark.slow


def _serve(deployed: EmulatorStack) -> Iterator[LocalGateway]:
    with serve_stack(deployed, max_workers=4) as local:
        yield local


def _new_id() -> str:
    return f"auth-{uuid.uuid4().hex[:12]}"


# ------------------------------------------------------------------------------------------ JWT


@pytest.fixture(scope="module")
def jwt_gateway(jwt_stack: EmulatorStack) -> Iterator[LocalGateway]:
    yield from _serve(jwt_stack)


class JwtClient(Client):
    def __init__(self, url: str, issuer: LocalIssuer) -> None:
        super().__init__(url)
        self.issuer = issuer

    def token(self, sub: str, *, admin: bool = False) -> str:
        return self.issuer.mint(sub, scopes=["users/admin"] if admin else [])

    def as_user(
        self, token: str | None, method: str, path: str, body: Any = None, **headers: str
    ) -> Reply:
        if token is not None:
            headers["Authorization"] = f"Bearer {token}"
        return self.request(method, path, body, headers=headers)


@pytest.fixture
def jwt(jwt_gateway: LocalGateway, oidc_issuer: LocalIssuer) -> JwtClient:
    return JwtClient(jwt_gateway.url, oidc_issuer)


def _claims(issuer: LocalIssuer, **overrides: Any) -> dict[str, Any]:
    claims = access_token_claims(issuer=issuer.url, audience=JWT_AUDIENCE, sub=_new_id())
    claims.update(overrides)
    return claims


def _signed(issuer: LocalIssuer, claims: dict[str, Any]) -> str:
    return encode_jwt({"alg": "RS256", "typ": "JWT", "kid": issuer.kid}, claims, issuer.key)


def assert_unauthorized(reply: Reply, reason: str | None) -> None:
    assert reply.status == 401, reply.body
    assert reply.json() == {"message": "Unauthorized"}
    if reason is None:
        assert "www-authenticate" not in reply.headers
    else:
        assert 'error="invalid_token"' in reply.headers["www-authenticate"]
        assert reason in reply.headers["www-authenticate"]


def test_hello_is_public(jwt: JwtClient) -> None:
    reply = jwt.as_user(None, "GET", "/hello")
    assert reply.status == 200
    assert reply.json()["message"] == "Hello from Lambda"


def test_no_token_is_401_on_every_protected_route(jwt: JwtClient) -> None:
    for method, path in [
        ("GET", "/users"),
        ("GET", "/users/01"),
        ("POST", "/users"),
        ("DELETE", "/users/01"),
        ("GET", "/no-such-path"),  # $default is protected too
    ]:
        assert_unauthorized(jwt.as_user(None, method, path), None)


def test_invalid_tokens_are_401(jwt: JwtClient, oidc_issuer: LocalIssuer) -> None:
    past = time.time() - 7200
    expired = _signed(
        oidc_issuer, _claims(oidc_issuer, iat=int(past), nbf=int(past), exp=int(past) + 60)
    )
    wrong_issuer = _signed(oidc_issuer, _claims(oidc_issuer, iss="https://issuer.example.com"))
    wrong_audience = _signed(oidc_issuer, _claims(oidc_issuer, aud="another-api"))
    header, _, signature = jwt.token("victim").split(".")
    forged_payload = _signed(oidc_issuer, _claims(oidc_issuer, sub="admin")).split(".")[1]
    tampered = f"{header}.{forged_payload}.{signature}"
    alg_none = encode_jwt({"alg": "none", "kid": oidc_issuer.kid}, _claims(oidc_issuer), None)
    foreign_key = encode_jwt(
        {"alg": "RS256", "kid": oidc_issuer.kid}, _claims(oidc_issuer), generate_key()
    )
    cases = {
        "the token has expired": expired,
        "the token does not have a valid issuer": wrong_issuer,
        "the token does not have a valid audience": wrong_audience,
        "the token signature is invalid": tampered,
        "signing method none is invalid": alg_none,
    }
    for reason, token in cases.items():
        assert_unauthorized(jwt.as_user(token, "GET", "/users/victim"), reason)
    assert_unauthorized(
        jwt.as_user(foreign_key, "GET", "/users/victim"), "the token signature is invalid"
    )


def test_own_profile_create_read_update_delete(jwt: JwtClient) -> None:
    me = _new_id()
    token = jwt.token(me)
    created = jwt.as_user(token, "POST", "/users", {"name": "Me"})  # user_id: the token's sub
    assert created.status == 201, created.body
    assert created.json()["user_id"] == me
    assert jwt.as_user(token, "GET", f"/users/{me}").status == 200
    assert jwt.as_user(token, "GET", f"/users?id={me}").json()["user_id"] == me
    patched = jwt.as_user(token, "PATCH", f"/users/{me}", {"name": "Me too"})
    assert patched.status == 200, patched.body
    assert patched.json()["name"] == "Me too"
    replaced = jwt.as_user(token, "PUT", f"/users/{me}", {"name": "Me at last"})
    assert replaced.status == 200, replaced.body
    deleted = jwt.as_user(token, "DELETE", f"/users/{me}")
    assert deleted.status == 204, deleted.body
    assert jwt.as_user(token, "GET", f"/users/{me}").status == 404


def test_another_users_profile_is_403(jwt: JwtClient) -> None:
    owner, intruder = _new_id(), _new_id()
    owner_token, token = jwt.token(owner), jwt.token(intruder)
    assert (
        jwt.as_user(owner_token, "POST", "/users", {"user_id": owner, "name": "Owner"}).status
        == 201
    )
    for method, path, body in [
        ("GET", f"/users/{owner}", None),
        ("GET", f"/users?id={owner}", None),
        ("PATCH", f"/users/{owner}", {"name": "Hijacked"}),
        ("PUT", f"/users/{owner}", {"name": "Hijacked"}),
        ("DELETE", f"/users/{owner}", None),
        ("POST", "/users", {"user_id": owner + "x", "name": "Not me"}),
    ]:
        reply = jwt.as_user(token, method, path, body)
        assert reply.status == 403, (method, path, reply.body)
        assert reply.json()["code"]  # the API's own JSON error shape
    survivor = jwt.as_user(owner_token, "GET", f"/users/{owner}")
    assert survivor.json()["name"] == "Owner"


def test_listing_and_email_lookup_need_the_admin_scope(jwt: JwtClient) -> None:
    me = _new_id()
    email = f"{me}@example.com"
    token = jwt.token(me)
    assert jwt.as_user(token, "POST", "/users", {"name": "Me", "email": email}).status == 201
    for path in ("/users?limit=5", f"/users?email={email}"):
        assert jwt.as_user(token, "GET", path).status == 403, path
        assert jwt.as_user(jwt.token(me, admin=True), "GET", path).status == 200, path
    found = jwt.as_user(jwt.token("ops", admin=True), "GET", f"/users?email={email}")
    assert found.json()["user_id"] == me


def test_admin_may_act_on_any_profile(jwt: JwtClient) -> None:
    owner = _new_id()
    assert jwt.as_user(jwt.token(owner), "POST", "/users", {"name": "Owner"}).status == 201
    admin = jwt.token("ops", admin=True)
    assert jwt.as_user(admin, "GET", f"/users/{owner}").status == 200
    assert jwt.as_user(admin, "DELETE", f"/users/{owner}").status == 204


def test_an_admin_scope_in_an_scp_array_is_honoured_through_the_front(
    jwt: JwtClient, oidc_issuer: LocalIssuer
) -> None:
    # Okta/Entra style: `scp` as a JSON array. The front renders it as API Gateway does,
    # "[users/admin openid]", and the function must read the admin scope out of that string.
    admin = _signed(oidc_issuer, _claims(oidc_issuer, sub="ops", scp=["users/admin", "openid"]))
    assert jwt.as_user(admin, "GET", "/users?limit=5").status == 200
    reader = _signed(oidc_issuer, _claims(oidc_issuer, sub="ops", scp=["openid", "profile"]))
    assert jwt.as_user(reader, "GET", "/users?limit=5").status == 403


def test_preflight_is_never_authorized(jwt: JwtClient) -> None:
    reply = jwt.request(
        "OPTIONS",
        "/users/01",
        headers={
            "Origin": "https://app.example.com",
            "Access-Control-Request-Method": "DELETE",
            "Access-Control-Request-Headers": "authorization",
        },
    )
    assert reply.status == 204
    assert reply.headers["access-control-allow-origin"] == "*"
    assert "authorization" in reply.headers["access-control-allow-headers"]


# -------------------------------------------------------------------------------------- AWS_IAM


@pytest.fixture(scope="module")
def iam_gateway(iam_stack: EmulatorStack) -> Iterator[LocalGateway]:
    yield from _serve(iam_stack)


class IamClient(Client):
    def signed(
        self,
        method: str,
        path: str,
        body: Any = None,
        *,
        secret_key: str = SECRET_ACCESS_KEY,
        access_key: str = ACCESS_KEY_ID,
        tamper: bytes | None = None,
    ) -> Reply:
        data = b"" if body is None else json.dumps(body).encode()
        headers = {"Content-Type": "application/json"} if body is not None else {}
        aws_request = AWSRequest(method=method, url=self.url + path, data=data, headers=headers)
        SigV4Auth(Credentials(access_key, secret_key), "execute-api", REGION).add_auth(aws_request)
        sent = {name: str(value) for name, value in aws_request.headers.items()}
        raw = tamper if tamper is not None else data
        return self.request(
            method, path, raw=raw if raw or body is not None else None, headers=sent
        )


@pytest.fixture
def iam(iam_gateway: LocalGateway) -> IamClient:
    return IamClient(iam_gateway.url)


def test_iam_hello_is_public(iam: IamClient) -> None:
    assert iam.request("GET", "/hello").status == 200


def test_signed_requests_reach_the_function_with_full_access(iam: IamClient) -> None:
    user_id = _new_id()
    created = iam.signed("POST", "/users", {"user_id": user_id, "name": "Signed"})
    assert created.status == 201, created.body
    assert iam.signed("GET", f"/users/{user_id}").json()["name"] == "Signed"
    assert iam.signed("GET", "/users?limit=2").status == 200  # listing: the policy decides
    assert iam.signed("DELETE", f"/users/{user_id}").status == 204


def test_unsigned_request_is_403_forbidden(iam: IamClient) -> None:
    reply = iam.request("GET", "/users/01")
    assert (reply.status, reply.json()) == (403, {"message": "Forbidden"})


def test_wrongly_signed_requests_are_403(iam: IamClient) -> None:
    wrong_secret = iam.signed("GET", "/users/01", secret_key="not-the-secret")
    assert (wrong_secret.status, wrong_secret.json()) == (403, {"message": SIGNATURE_MISMATCH})
    unknown_key = iam.signed("GET", "/users/01", access_key="AKIAEXAMPLEUNKNOWN")
    assert (unknown_key.status, unknown_key.json()) == (403, {"message": INVALID_SECURITY_TOKEN})
    user_id = _new_id()
    tampered = iam.signed(
        "POST",
        "/users",
        {"user_id": user_id, "name": "Signed"},
        tamper=json.dumps({"user_id": user_id, "name": "Changed"}).encode(),
    )
    assert (tampered.status, tampered.json()) == (403, {"message": SIGNATURE_MISMATCH})
    assert iam.signed("GET", f"/users/{user_id}").status == 404  # nothing was written


def test_curl_aws_sigv4_as_the_readme_shows(iam: IamClient) -> None:
    curl = shutil.which("curl")
    assert curl, "curl is needed: the README's examples use it"
    user_id = _new_id()
    command = [
        curl, "-s", "-o", "-", "-w", "\n%{http_code}",
        "--aws-sigv4", f"aws:amz:{REGION}:execute-api",
        "--user", f"{ACCESS_KEY_ID}:{SECRET_ACCESS_KEY}",
        "-X", "POST", f"{iam.url}/users", "-H", "Content-Type: application/json",
        "-d", json.dumps({"user_id": user_id, "name": "Curl"}),
    ]  # fmt: skip
    output = subprocess.run(command, capture_output=True, text=True, check=True, timeout=30)
    body, _, status = output.stdout.rpartition("\n")
    assert status == "201", body
    assert json.loads(body)["user_id"] == user_id
