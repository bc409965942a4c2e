"""Route authorization as an HTTP API enforces it, for the local front (tools/localaws/gateway.py).

Each route carries AuthorizationType NONE, JWT or AWS_IAM (and, for JWT, an authorizer and
optional AuthorizationScopes); `load_route_authorizations` reads them from the emulator, and
`RouteAuthorization.check(request)` answers a request with a `Grant` (the payload-2.0
`requestContext.authorizer` to pass on) or a `Denial` (API Gateway's own answer).

JWT (AWS: "Control access to HTTP APIs with JWT authorizers"): the token comes from the identity
source (`$request.header.Authorization`, alone or after `Bearer `); its alg must be RSA (RS256,
RS384, RS512), its `kid` a key of the issuer's JWKS (found through
`<issuer>/.well-known/openid-configuration`, cached two hours, fetched again for an unknown kid
at most once every JWKS_REFETCH_INTERVAL_S, over http(s) only, within the HTTP API quotas' 1.5 s
and 150,000 bytes), its signature valid, `iss` the configured issuer exactly, `aud` one of the
audiences (`client_id` only when there is no `aud`), `exp` after now, `nbf` and `iat` not after
now, and, when the route has AuthorizationScopes, `scope`/`scp` must hold one of them. A missing
token is 401 `{"message":"Unauthorized"}`; an invalid one is the same with `www-authenticate:
Bearer scope="" error="invalid_token" error_description="..."`; missing scopes are 403
`{"message":"Forbidden"}`. The claims reach the function as strings, the way API Gateway renders
them (numbers and booleans as text, arrays as `[a b]`), null claims left out; `scopes` is null
unless the route has AuthorizationScopes.

The JOSE work is joserfc's: parsing the compact JWS, refusing an unknown `crit` header (RFC 7515
4.1.11), honouring the JWK's `use` and `alg`, importing the JWKS, checking the signature. What
is ours is API Gateway's behaviour around it: which algorithms, where the keys come from and how
often, which claims are checked and the answers it gives.

AWS_IAM: the request must carry a SigV4 `Authorization` header for service `execute-api` in the
API's region, dated within five minutes of now, signed with a known access key; the expected
signature is computed with botocore's SigV4Auth over the headers the client signed. Failures are
403 with API Gateway's messages (`Forbidden` when unsigned, the signature-mismatch,
invalid-token, expired-signature texts otherwise). A valid signature grants the route: the local
front has no IAM policies to evaluate, so any principal holding the emulator's credentials may
invoke every route (on AWS, its policy's execute-api:Invoke statements decide).

CORS preflights never reach this module (the gateway answers them first, as API Gateway does).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import threading
import time
import urllib.request
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol
from urllib.parse import urlsplit

from joserfc import jws
from joserfc.errors import BadSignatureError, JoseError, UnsupportedAlgorithmError
from joserfc.jwk import KeySet, RSAKey

from tools.localaws.oidc import DISCOVERY_PATH, RSA_ALGORITHMS

NONE = "NONE"
JWT = "JWT"
AWS_IAM = "AWS_IAM"

# API Gateway may cache an issuer's public keys for two hours.
JWKS_CACHE_SECONDS = 2 * 60 * 60
# A token with an unknown kid refetches the keys, but not more often than this (AWS's own
# aws-jwt-verify waits 10 s after a JWKS that lacked the kid), so forged kids cannot hammer the
# issuer.
JWKS_REFETCH_INTERVAL_S = 10.0
# HTTP API quotas: the JWKS and discovery endpoints answer within 1,500 ms and 150,000 bytes.
JWKS_TIMEOUT_S = 1.5
JWKS_MAX_BYTES = 150_000
# SigV4: a request dated more than five minutes away from the server's clock is refused.
SIGV4_SKEW = timedelta(minutes=5)
SIGV4_ALGORITHM = "AWS4-HMAC-SHA256"
EXECUTE_API = "execute-api"

SIGNATURE_MISMATCH = (
    "The request signature we calculated does not match the signature you provided. Check your"
    " AWS Secret Access Key and signing method. Consult the service documentation for details."
)
INVALID_SECURITY_TOKEN = "The security token included in the request is invalid."


class Request(Protocol):
    """What authorization reads of a request (tools.localaws.gateway.HttpRequest has it)."""

    method: str
    headers: list[tuple[str, str]]
    body: bytes

    @property
    def raw_path(self) -> str: ...

    @property
    def raw_query_string(self) -> str: ...

    def header(self, name: str) -> str | None: ...


@dataclass(frozen=True)
class Grant:
    """The request may go on; `context` is its payload-2.0 requestContext.authorizer."""

    context: dict[str, Any] | None = None


@dataclass(frozen=True)
class Denial:
    """API Gateway's own answer instead of the integration's."""

    status: int
    message: str
    headers: tuple[tuple[str, str], ...] = ()

    @property
    def body(self) -> bytes:
        return json.dumps({"message": self.message}).encode()

    def response_headers(self) -> list[tuple[str, str]]:
        return [("content-type", "application/json"), *self.headers]


# ---------------------------------------------------------------------------------------- JWT


class InvalidTokenError(Exception):
    """The token is not acceptable; str() is the www-authenticate error_description."""


def _www_authenticate(scopes: Sequence[str], error: str, description: str) -> str:
    return f'Bearer scope="{" ".join(scopes)}" error="{error}" error_description="{description}"'


def render_claims(claims: Mapping[str, Any]) -> dict[str, str]:
    """The claims as API Gateway hands them to the function: strings, null claims left out."""
    return {name: render_claim(value) for name, value in claims.items() if value is not None}


def render_claim(value: Any) -> str:
    """A claim value as API Gateway renders it: always a string, an array as `[a b]`."""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    if isinstance(value, list):
        return "[" + " ".join(render_claim(item) for item in value) + "]"
    return json.dumps(value, separators=(",", ":"))


def token_scopes(claims: Mapping[str, Any]) -> list[str]:
    """The scopes a token carries: `scope` (space-separated) or `scp` (string or list)."""
    for name in ("scope", "scp"):
        value = claims.get(name)
        if isinstance(value, str):
            return value.split()
        if isinstance(value, list):
            return [str(item) for item in value]
    return []


def fetch_json(url: str, timeout_s: float = JWKS_TIMEOUT_S, max_bytes: int = JWKS_MAX_BYTES) -> Any:
    """GET a JSON document over http(s); ValueError for another scheme or a document too large."""
    if urlsplit(url).scheme not in ("http", "https"):
        raise ValueError(f"only http and https URLs are fetched, not {url!r}")
    with urllib.request.urlopen(url, timeout=timeout_s) as response:
        body = response.read(max_bytes + 1)
    if len(body) > max_bytes:
        raise ValueError(f"{url} answered more than {max_bytes} bytes")
    return json.loads(body)


@dataclass
class JwtAuthorizer:
    """An authorizer of type JWT: issuer, audiences and identity source, as configured."""

    issuer: str
    audience: tuple[str, ...]
    identity_source: str = "$request.header.Authorization"
    name: str = ""
    fetch: Callable[[str], Any] = fetch_json
    clock: Callable[[], float] = time.time
    _keys: dict[str, RSAKey] = field(default_factory=dict, repr=False)
    _fetched_at: float | None = field(default=None, repr=False)
    _refetched_at: float | None = field(default=None, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @property
    def header_name(self) -> str:
        prefix = "$request.header."
        if not self.identity_source.startswith(prefix):
            raise ValueError(f"unsupported identity source {self.identity_source!r}")
        return self.identity_source[len(prefix) :]

    def check(self, request: Request, scopes: Sequence[str] = ()) -> Grant | Denial:
        token = (request.header(self.header_name) or "").strip()
        scheme, _, rest = token.partition(" ")
        if scheme.lower() == "bearer":
            token = rest.strip()
        if not token:
            return Denial(401, "Unauthorized")
        try:
            claims = self.verify(token)
        except InvalidTokenError as error:
            header = _www_authenticate(scopes, "invalid_token", str(error))
            return Denial(401, "Unauthorized", (("www-authenticate", header),))
        held = token_scopes(claims)
        if scopes and not set(held) & set(scopes):
            description = f"expected scopes: [{' '.join(scopes)}]"
            header = _www_authenticate(scopes, "insufficient_scope", description)
            return Denial(403, "Forbidden", (("www-authenticate", header),))
        return Grant(
            {
                "jwt": {
                    "claims": render_claims(claims),
                    "scopes": held if scopes else None,
                }
            }
        )

    def verify(self, token: str) -> dict[str, Any]:
        """The token's claims when API Gateway would accept it; InvalidTokenError otherwise."""
        if token.count(".") != 2:
            raise InvalidTokenError("the token is malformed")
        try:
            header = jws.extract_compact(token.encode()).headers()
        except (JoseError, ValueError):
            raise InvalidTokenError("the token is malformed") from None
        alg = header.get("alg")
        if alg not in RSA_ALGORITHMS:
            raise InvalidTokenError(f"signing method {alg} is invalid")
        kid = header.get("kid")
        key = self._key(kid) if isinstance(kid, str) else None
        if key is None:
            raise InvalidTokenError("the token's kid does not match a key of the issuer")
        try:
            verified = jws.deserialize_compact(token, key, algorithms=RSA_ALGORITHMS)
            claims = json.loads(verified.payload)
        except (BadSignatureError, UnsupportedAlgorithmError):
            raise InvalidTokenError("the token signature is invalid") from None
        except JoseError as error:  # an unknown crit header, a key not for signatures or this alg
            raise InvalidTokenError(f"the token is invalid: {error.error}") from None
        except ValueError:
            raise InvalidTokenError("the token is malformed") from None
        if not isinstance(claims, dict):
            raise InvalidTokenError("the token is malformed")
        self._check_claims(claims)
        return claims

    def _check_claims(self, claims: Mapping[str, Any]) -> None:
        if claims.get("iss") != self.issuer:
            raise InvalidTokenError("the token does not have a valid issuer")
        if "aud" in claims:
            audiences = claims["aud"] if isinstance(claims["aud"], list) else [claims["aud"]]
        else:
            audiences = [claims["client_id"]] if "client_id" in claims else []
        if not any(isinstance(a, str) and a in self.audience for a in audiences):
            raise InvalidTokenError("the token does not have a valid audience")
        now = self.clock()
        exp = claims.get("exp")
        if not isinstance(exp, int | float) or isinstance(exp, bool) or exp <= now:
            raise InvalidTokenError("the token has expired")
        for name, description in (("nbf", "not valid yet"), ("iat", "issued in the future")):
            value = claims.get(name)
            if value is None:
                continue
            if not isinstance(value, int | float) or isinstance(value, bool) or value > now:
                raise InvalidTokenError(f"the token is {description}")

    def _key(self, kid: str) -> RSAKey | None:
        with self._lock:
            now = self.clock()
            stale = self._fetched_at is None or now - self._fetched_at > JWKS_CACHE_SECONDS
            unknown = kid not in self._keys and (
                self._refetched_at is None or now - self._refetched_at >= JWKS_REFETCH_INTERVAL_S
            )
            if stale or unknown:
                try:
                    self._keys = self._fetch_keys()
                    self._fetched_at = now
                except (OSError, ValueError, KeyError, TypeError, JoseError):
                    if stale:
                        self._keys = {}
                if not stale:
                    self._refetched_at = now
            return self._keys.get(kid)

    def _fetch_keys(self) -> dict[str, RSAKey]:
        discovery = self.fetch(self.issuer.rstrip("/") + DISCOVERY_PATH)
        jwks = self.fetch(discovery["jwks_uri"])
        keys = [k for k in jwks["keys"] if k.get("kty") == "RSA" and isinstance(k.get("kid"), str)]
        imported = KeySet.import_key_set({"keys": keys})
        return {key.kid: key for key in imported.keys if isinstance(key, RSAKey) and key.kid}


# ------------------------------------------------------------------------------------- AWS_IAM


@dataclass(frozen=True)
class Principal:
    """Whom a known access key belongs to (payload-2.0 requestContext.authorizer.iam)."""

    secret_access_key: str
    account_id: str
    user_arn: str
    user_id: str


_AUTH_PARAM = re.compile(r"(\w+)=([^,\s]*)")


@dataclass
class IamAuthorizer:
    """SigV4 verification of requests to routes with AuthorizationType AWS_IAM."""

    principals: Mapping[str, Principal]  # by access key id
    region: str
    clock: Callable[[], float] = time.time

    def check(self, request: Request) -> Grant | Denial:
        authorization = request.header("authorization")
        if not authorization or not authorization.strip().startswith(SIGV4_ALGORITHM + " "):
            return Denial(403, "Forbidden")
        params = dict(_AUTH_PARAM.findall(authorization.strip()[len(SIGV4_ALGORITHM) :]))
        amz_date = request.header("x-amz-date")
        missing = [
            f"Authorization header requires '{name}' parameter."
            for name in ("Credential", "Signature", "SignedHeaders")
            if not params.get(name)
        ]
        if not amz_date:
            missing.append(
                "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date'"
                " header."
            )
        if missing:
            return Denial(403, " ".join(missing) + f" Authorization={authorization.strip()}")
        assert amz_date is not None
        scope = params["Credential"].split("/")
        if len(scope) != 5 or scope[4] != "aws4_request":
            return Denial(403, SIGNATURE_MISMATCH)
        access_key, date, region, service, _ = scope
        principal = self.principals.get(access_key)
        if principal is None:
            return Denial(403, INVALID_SECURITY_TOKEN)
        if service != EXECUTE_API:
            return Denial(403, f"Credential should be scoped to correct service: '{EXECUTE_API}'. ")
        if region != self.region:
            return Denial(403, "Credential should be scoped to a valid region. ")
        try:
            signed_at = datetime.strptime(amz_date, "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
        except ValueError:
            return Denial(403, SIGNATURE_MISMATCH)
        now = datetime.fromtimestamp(self.clock(), UTC)
        stamp = "%Y%m%dT%H%M%SZ"
        if signed_at < now - SIGV4_SKEW:
            return Denial(
                403,
                f"Signature expired: {amz_date} is now earlier than "
                f"{(now - SIGV4_SKEW).strftime(stamp)} ({now.strftime(stamp)} - 5 min.)",
            )
        if signed_at > now + SIGV4_SKEW:
            return Denial(
                403,
                f"Signature not yet current: {amz_date} is still later than "
                f"{(now + SIGV4_SKEW).strftime(stamp)} ({now.strftime(stamp)} + 5 min.)",
            )
        if date != amz_date[:8]:
            return Denial(403, SIGNATURE_MISMATCH)
        expected = expected_signature(
            request,
            signed_headers=params["SignedHeaders"].split(";"),
            access_key=access_key,
            secret_key=principal.secret_access_key,
            region=region,
            amz_date=amz_date,
        )
        if expected is None or not hmac.compare_digest(expected, params["Signature"]):
            return Denial(403, SIGNATURE_MISMATCH)
        return Grant(
            {
                "iam": {
                    "accessKey": access_key,
                    "accountId": principal.account_id,
                    "callerId": principal.user_id,
                    "cognitoIdentity": None,
                    "principalOrgId": None,
                    "userArn": principal.user_arn,
                    "userId": principal.user_id,
                }
            }
        )


def expected_signature(
    request: Request,
    *,
    signed_headers: Sequence[str],
    access_key: str,
    secret_key: str,
    region: str,
    amz_date: str,
) -> str | None:
    """The SigV4 signature botocore computes for this request over the headers the client signed.

    None when the client says it signed a header the request does not have, or declares a body
    hash (x-amz-content-sha256) the body does not have.
    """
    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest, HTTPHeaders
    from botocore.credentials import Credentials

    names = [name.strip().lower() for name in signed_headers if name.strip()]
    if "host" not in names or any(request.header(name) is None for name in names):
        return None
    declared = request.header("x-amz-content-sha256")
    actual = hashlib.sha256(request.body).hexdigest()
    if declared is not None and declared not in (actual, "UNSIGNED-PAYLOAD"):
        return None

    class _SignedAsSent(SigV4Auth):
        # botocore signs the headers it chooses; the server must use the ones the client chose.
        def headers_to_sign(self, aws_request: AWSRequest) -> HTTPHeaders:
            selected = HTTPHeaders()
            for name in names:
                for key, value in request.headers:
                    if key.lower() == name:
                        selected[name] = value
            return selected

    host = request.header("host") or ""
    query = request.raw_query_string
    url = f"https://{host}{request.raw_path}" + (f"?{query}" if query else "")
    aws_request = AWSRequest(method=request.method.upper(), url=url, data=request.body)
    for key, value in request.headers:
        if key.lower() == "x-amz-content-sha256":
            aws_request.headers["X-Amz-Content-SHA256"] = value
    aws_request.context["timestamp"] = amz_date
    signer = _SignedAsSent(Credentials(access_key, secret_key), EXECUTE_API, region)
    canonical = signer.canonical_request(aws_request)
    string_to_sign = signer.string_to_sign(aws_request, canonical)
    return str(signer.signature(string_to_sign, aws_request))


# --------------------------------------------------------------------------------------- routes


@dataclass(frozen=True)
class RouteAuthorization:
    """How one route is authorized: its type, authorizer and scopes."""

    authorization_type: str = NONE
    jwt: JwtAuthorizer | None = None
    iam: IamAuthorizer | None = None
    scopes: tuple[str, ...] = ()

    def check(self, request: Request) -> Grant | Denial:
        if self.authorization_type == NONE:
            return Grant(None)
        if self.authorization_type == JWT and self.jwt is not None:
            return self.jwt.check(request, self.scopes)
        if self.authorization_type == AWS_IAM and self.iam is not None:
            return self.iam.check(request)
        # A type this front cannot enforce is refused, never waved through.
        return Denial(500, "Internal Server Error")


def emulator_principals(access_key: str, secret_key: str, account_id: str) -> dict[str, Principal]:
    """The one principal the emulator's credentials stand for."""
    return {
        access_key: Principal(
            secret_access_key=secret_key,
            account_id=account_id,
            user_arn=f"arn:aws:iam::{account_id}:user/{access_key}",
            user_id=f"AIDA{hashlib.sha256(access_key.encode()).hexdigest()[:17].upper()}",
        )
    }


def load_route_authorizations(
    apigw: Any,
    api_id: str,
    routes: Sequence[Mapping[str, Any]],
    *,
    region: str,
    principals: Mapping[str, Principal],
    fetch: Callable[[str], Any] = fetch_json,
    clock: Callable[[], float] = time.time,
) -> dict[str, RouteAuthorization]:
    """Each route's authorization by route key, from get_routes items and get_authorizer.

    Authorizers are read one by one (GetAuthorizer): moto 5.2.5 has no GetAuthorizers.
    """
    authorizers: dict[str, JwtAuthorizer] = {}
    iam = IamAuthorizer(principals, region, clock)
    result: dict[str, RouteAuthorization] = {}
    for route in routes:
        kind = route.get("AuthorizationType") or NONE
        scopes = tuple(route.get("AuthorizationScopes") or ())
        if kind == JWT:
            authorizer_id = route.get("AuthorizerId")
            if not authorizer_id:
                raise ValueError(f"route {route['RouteKey']} is JWT but names no authorizer")
            if authorizer_id not in authorizers:
                item = apigw.get_authorizer(ApiId=api_id, AuthorizerId=authorizer_id)
                if item.get("AuthorizerType") != JWT:
                    raise ValueError(
                        f"authorizer {authorizer_id} is {item.get('AuthorizerType')}; "
                        "the local front enforces JWT and AWS_IAM only"
                    )
                config = item.get("JwtConfiguration") or {}
                sources = item.get("IdentitySource") or ["$request.header.Authorization"]
                authorizers[authorizer_id] = JwtAuthorizer(
                    issuer=config.get("Issuer", ""),
                    audience=tuple(config.get("Audience") or ()),
                    identity_source=sources[0],
                    name=item.get("Name", ""),
                    fetch=fetch,
                    clock=clock,
                )
            result[route["RouteKey"]] = RouteAuthorization(
                JWT, jwt=authorizers[authorizer_id], scopes=scopes
            )
        elif kind == AWS_IAM:
            result[route["RouteKey"]] = RouteAuthorization(AWS_IAM, iam=iam)
        elif kind == NONE:
            result[route["RouteKey"]] = RouteAuthorization(NONE)
        else:
            raise ValueError(
                f"route {route['RouteKey']} uses {kind} authorization; "
                "the local front enforces NONE, JWT and AWS_IAM"
            )
    return result
