"""A local OIDC issuer on loopback: `make local AUTH=jwt` and the tests need no identity provider.

    python -m tools.localaws.oidc [--port 0] [--state-dir .local/oidc]     # serve until Ctrl-C

It has its own RSA signing key and serves what an OIDC provider publishes and API Gateway's JWT
authorizer reads:

    GET <issuer>/.well-known/openid-configuration    the discovery document (issuer, jwks_uri, ...)
    GET <issuer>/.well-known/jwks.json               the public signing key as a JWK set

Its state lives in `.local/oidc/`: `signing-key.pem` (the private key, kept across runs) and
`issuer.json` (the issuer URL, key id, audience, admin scope), so `python -m
tools.localaws.bearer_token`
can mint tokens for the running issuer from another process.

    from tools.localaws.oidc import LocalIssuer

    with LocalIssuer(state_dir) as issuer:          # binds 127.0.0.1:<free port>, writes the state
        issuer.url                                   # "http://127.0.0.1:<port>" (the iss claim)
        issuer.mint("user-1", scopes=["users/admin"], expires_in=3600)   # an RS256 access token

`encode_jwt(header, claims, key)` signs any header/claims (tests use it for wrong tokens:
alg none, another key, tampered payloads).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
import threading
import time
import uuid
import warnings
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from types import TracebackType
from typing import Any

from joserfc import jwt
from joserfc.jwk import RSAKey
from joserfc.util import urlsafe_b64decode, urlsafe_b64encode
from werkzeug.serving import BaseWSGIServer, make_server

from tools.localaws.gateway_http import QuietHandler

REPO = Path(__file__).resolve().parents[2]
STATE_DIR = REPO / ".local" / "oidc"
STATE_FILE = "issuer.json"
KEY_FILE = "signing-key.pem"
DEFAULT_AUDIENCE = ("users-api-local",)
DEFAULT_ADMIN_SCOPE = "users/admin"
DISCOVERY_PATH = "/.well-known/openid-configuration"
JWKS_PATH = "/.well-known/jwks.json"
# The JWS algorithms API Gateway's JWT authorizer accepts (RSASSA-PKCS1-v1_5).
RSA_ALGORITHMS = ("RS256", "RS384", "RS512")


def b64url(data: bytes) -> str:
    return urlsafe_b64encode(data).decode("ascii")


def b64url_decode(text: str) -> bytes:
    """Strict base64url without padding, as JWS uses it; ValueError on anything else."""
    if not text.isascii() or any(c in text for c in "+/= \n"):
        raise ValueError("not base64url")
    return urlsafe_b64decode(text.encode("ascii"))


def generate_key() -> RSAKey:
    """A 2048-bit RSA signing key whose kid is its RFC 7638 thumbprint."""
    key = RSAKey.generate_key(2048, parameters={"use": "sig", "alg": "RS256"}, private=True)
    key.ensure_kid()
    return key


def key_id(key: RSAKey) -> str:
    """The RFC 7638 JWK thumbprint of the public key: stable for a key, different for another."""
    return key.thumbprint()


def public_jwk(key: RSAKey, alg: str = "RS256") -> dict[str, Any]:
    """The key's public half as a JWK for signatures with `alg`, under its thumbprint."""
    jwk = dict(key.as_dict(private=False))
    jwk.update({"use": "sig", "alg": alg, "kid": key_id(key)})
    return jwk


def private_pem(key: RSAKey) -> bytes:
    """The private key as PKCS#8 PEM (the issuer's state; other JOSE libraries read it too)."""
    return key.as_pem(private=True)


def encode_jwt(header: Mapping[str, Any], claims: Mapping[str, Any], key: RSAKey | None) -> str:
    """A compact JWS of `claims`, signed by joserfc with `key` for an RS* alg, unsigned for "none".

    Tests use it for wrong tokens (alg none, another key), so it signs whatever it is asked to.
    """
    alg = header.get("alg")
    if alg == "none":
        with warnings.catch_warnings():  # joserfc warns that "none" is deprecated: the point here
            warnings.simplefilter("ignore")
            return jwt.encode(dict(header), dict(claims), None, algorithms=["none"])  # type: ignore[arg-type]
    if alg not in RSA_ALGORITHMS or key is None:
        raise ValueError(f"cannot sign with alg {alg!r}")
    # joserfc signs only with the alg a key is for; another alg needs the key re-imported (0.1 s).
    signer = key if key.alg == alg else RSAKey.import_key(key.as_dict(private=True) | {"alg": alg})
    return jwt.encode(dict(header), dict(claims), signer, algorithms=[alg], default_type=None)


@dataclass(frozen=True)
class IssuerState:
    """What `tools.localaws.bearer_token` needs to mint a token the running issuer's JWKS
    verifies."""

    issuer: str
    kid: str
    audience: tuple[str, ...]
    admin_scope: str
    pid: int

    def save(self, state_dir: Path) -> None:
        state_dir.mkdir(parents=True, exist_ok=True)
        path = state_dir / STATE_FILE
        partial = path.with_suffix(f".{os.getpid()}.tmp")
        partial.write_text(json.dumps(asdict(self), indent=2) + "\n")
        partial.replace(path)

    @classmethod
    def load(cls, state_dir: Path) -> IssuerState:
        data = json.loads((state_dir / STATE_FILE).read_text())
        return cls(
            issuer=data["issuer"],
            kid=data["kid"],
            audience=tuple(data["audience"]),
            admin_scope=data["admin_scope"],
            pid=int(data["pid"]),
        )


def load_or_create_key(state_dir: Path) -> RSAKey:
    """The issuer's signing key: kept in state_dir (0600) so it survives restarts."""
    path = state_dir / KEY_FILE
    if path.is_file():
        with contextlib.suppress(ValueError):
            return RSAKey.import_key(path.read_bytes(), {"use": "sig", "alg": "RS256"})
    state_dir.mkdir(parents=True, exist_ok=True)
    key = generate_key()
    pem = private_pem(key)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "wb") as file:
        file.write(pem)
    return key


def access_token_claims(
    *,
    issuer: str,
    audience: str,
    sub: str,
    scopes: Iterable[str] = (),
    expires_in: int = 3600,
    now: float | None = None,
) -> dict[str, Any]:
    """Claims of an access token as the issuer mints them (Cognito-like, with `aud`)."""
    issued = int(time.time() if now is None else now)
    claims: dict[str, Any] = {
        "iss": issuer,
        "sub": sub,
        "aud": audience,
        "iat": issued,
        "nbf": issued,
        "exp": issued + expires_in,
        "jti": str(uuid.uuid4()),
        "token_use": "access",
    }
    scope = " ".join(scopes)
    if scope:
        claims["scope"] = scope
    return claims


def mint(
    state: IssuerState,
    key: RSAKey,
    sub: str,
    *,
    scopes: Iterable[str] = (),
    expires_in: int = 3600,
    now: float | None = None,
) -> str:
    claims = access_token_claims(
        issuer=state.issuer,
        audience=state.audience[0],
        sub=sub,
        scopes=scopes,
        expires_in=expires_in,
        now=now,
    )
    return encode_jwt({"alg": "RS256", "typ": "JWT", "kid": state.kid}, claims, key)


class LocalIssuer:
    """The issuer's HTTP server on its own thread, and its signing key."""

    def __init__(
        self,
        state_dir: Path = STATE_DIR,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        audience: Sequence[str] = DEFAULT_AUDIENCE,
        admin_scope: str = DEFAULT_ADMIN_SCOPE,
    ) -> None:
        if not audience:
            raise ValueError("the issuer needs at least one audience")
        self.state_dir = state_dir
        self.host = host
        self.port = port
        self.audience = tuple(audience)
        self.admin_scope = admin_scope
        self.key = load_or_create_key(state_dir)
        self.kid = key_id(self.key)
        self._server: BaseWSGIServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        """The issuer identifier: the `iss` of its tokens, the authorizer's jwt_issuer."""
        return f"http://{self.host}:{self.port}"

    @property
    def state(self) -> IssuerState:
        return IssuerState(self.url, self.kid, self.audience, self.admin_scope, os.getpid())

    def discovery(self) -> dict[str, Any]:
        return {
            "issuer": self.url,
            "jwks_uri": self.url + JWKS_PATH,
            "response_types_supported": ["token"],
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "scopes_supported": ["openid", self.admin_scope],
            "claims_supported": ["iss", "sub", "aud", "exp", "nbf", "iat", "jti", "scope"],
        }

    def jwks(self) -> dict[str, Any]:
        return {"keys": [public_jwk(self.key)]}

    def _application(self, environ: dict[str, Any], start_response: Any) -> list[bytes]:
        """The two documents an OIDC provider publishes, as JSON; 404 for anything else."""
        documents = {DISCOVERY_PATH: self.discovery, JWKS_PATH: self.jwks}
        document = documents.get(environ.get("PATH_INFO", ""))
        body = json.dumps(document() if document else {"error": "not found"}).encode()
        status = "200 OK" if document else "404 Not Found"
        headers = [("content-type", "application/json"), ("content-length", str(len(body)))]
        start_response(status, headers)
        return [body]

    def mint(
        self,
        sub: str,
        *,
        scopes: Iterable[str] = (),
        expires_in: int = 3600,
        now: float | None = None,
    ) -> str:
        return mint(self.state, self.key, sub, scopes=scopes, expires_in=expires_in, now=now)

    def start(self) -> LocalIssuer:
        if self._server is not None:
            return self
        self._server = make_server(
            self.host, self.port, self._application, threaded=True, request_handler=QuietHandler
        )
        self.port = self._server.port
        self.state.save(self.state_dir)
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.05},  # shutdown() waits up to one poll
            name="oidc-issuer",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        server, self._server = self._server, None
        if server is None:
            return
        server.shutdown()
        server.server_close()
        # The state names a server that is gone: tools.localaws.bearer_token must not mint for it.
        with contextlib.suppress(FileNotFoundError, ValueError, KeyError):
            if IssuerState.load(self.state_dir).issuer == self.url:
                (self.state_dir / STATE_FILE).unlink()

    def __enter__(self) -> LocalIssuer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Serve a local OIDC issuer on loopback.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port")
    parser.add_argument("--state-dir", type=Path, default=STATE_DIR)
    parser.add_argument("--audience", action="append", default=None)
    parser.add_argument("--admin-scope", default=DEFAULT_ADMIN_SCOPE)
    args = parser.parse_args(argv)
    issuer = LocalIssuer(
        args.state_dir,
        host=args.host,
        port=args.port,
        audience=args.audience or DEFAULT_AUDIENCE,
        admin_scope=args.admin_scope,
    )
    with issuer:
        print(f"OIDC issuer {issuer.url} (audience {', '.join(issuer.audience)})", file=sys.stderr)
        print("tokens: python -m tools.localaws.bearer_token --sub <id> [--admin]", file=sys.stderr)
        with contextlib.suppress(KeyboardInterrupt):
            threading.Event().wait()
    return 0


if __name__ == "__main__":
    sys.exit(main())
