"""The local OIDC issuer (tools/localaws/oidc.py) over loopback HTTP, and `make token`."""

from __future__ import annotations

import json
import os
import stat
import subprocess
from pathlib import Path
from typing import Any
from urllib.request import urlopen

import pytest

from tools.localaws import bearer_token as token_tool
from tools.localaws.authorizers import JwtAuthorizer, fetch_json
from tools.localaws.oidc import (
    DISCOVERY_PATH,
    JWKS_PATH,
    STATE_FILE,
    IssuerState,
    LocalIssuer,
    b64url_decode,
)


def get_json(url: str) -> Any:
    with urlopen(url, timeout=5) as response:
        assert response.headers["content-type"] == "application/json"
        return json.loads(response.read())


def claims_of(token: str) -> dict[str, Any]:
    payload: dict[str, Any] = json.loads(b64url_decode(token.split(".")[1]))
    return payload


@pytest.fixture
def issuer(tmp_path: Path) -> Any:
    with LocalIssuer(tmp_path / "oidc", audience=["local-aud", "second"]) as running:
        yield running


def test_issuer_publishes_discovery_and_jwks_on_loopback(issuer: LocalIssuer) -> None:
    assert issuer.url.startswith("http://127.0.0.1:")
    assert issuer.port > 0
    discovery = get_json(issuer.url + DISCOVERY_PATH)
    assert discovery["issuer"] == issuer.url
    assert discovery["jwks_uri"] == issuer.url + JWKS_PATH
    assert discovery["id_token_signing_alg_values_supported"] == ["RS256"]
    jwks = get_json(discovery["jwks_uri"])
    assert [(k["kty"], k["alg"], k["use"], k["kid"]) for k in jwks["keys"]] == [
        ("RSA", "RS256", "sig", issuer.kid)
    ]
    assert "d" not in jwks["keys"][0]  # the public half only


def test_minted_token_passes_a_jwt_authorizer_that_fetches_the_keys_over_http(
    issuer: LocalIssuer,
) -> None:
    authorizer = JwtAuthorizer(issuer.url, ("local-aud",), fetch=fetch_json)
    token = issuer.mint("user-7", scopes=["users/admin"], expires_in=120)
    claims = authorizer.verify(token)
    assert (claims["iss"], claims["sub"], claims["aud"], claims["scope"]) == (
        issuer.url,
        "user-7",
        "local-aud",
        "users/admin",
    )
    assert claims["exp"] - claims["iat"] == 120


def test_state_names_the_running_issuer_and_is_removed_when_it_stops(tmp_path: Path) -> None:
    state_dir = tmp_path / "oidc"
    with LocalIssuer(state_dir, admin_scope="api/root") as issuer:
        state = IssuerState.load(state_dir)
        assert state == IssuerState(
            issuer.url, issuer.kid, ("users-api-local",), "api/root", os.getpid()
        )
        key_file = state_dir / "signing-key.pem"
        assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
        first_kid = issuer.kid
    assert not (state_dir / STATE_FILE).exists()
    # The key survives a restart, so tokens minted before stay verifiable.
    with LocalIssuer(state_dir) as again:
        assert again.kid == first_kid


def test_unknown_path_is_404(issuer: LocalIssuer) -> None:
    with pytest.raises(Exception, match="404"):
        urlopen(issuer.url + "/nothing", timeout=5)


def test_issuer_refuses_an_empty_audience(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="audience"):
        LocalIssuer(tmp_path, audience=[])


# ------------------------------------------------------------------------------------ make token


def test_token_for_a_user_and_for_an_admin(issuer: LocalIssuer) -> None:
    user = token_tool.token_for("01", state_dir=issuer.state_dir, now=1_800_000_000)
    admin = token_tool.token_for("ops", admin=True, expires_in=60, state_dir=issuer.state_dir)
    assert claims_of(user) == {
        **claims_of(user),
        "iss": issuer.url,
        "sub": "01",
        "aud": "local-aud",
        "iat": 1_800_000_000,
        "exp": 1_800_003_600,
    }
    assert "scope" not in claims_of(user)
    assert claims_of(admin)["scope"] == "users/admin"
    assert claims_of(admin)["exp"] - claims_of(admin)["iat"] == 60
    authorizer = JwtAuthorizer(issuer.url, ("local-aud",))
    assert authorizer.verify(admin)["sub"] == "ops"


def test_token_without_a_local_issuer_says_how_to_start_one(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = token_tool.main(["--sub", "01", "--state-dir", str(tmp_path / "none")])
    assert code == 1
    captured = capsys.readouterr()
    assert captured.out == ""
    assert "no local OIDC issuer" in captured.err
    assert "make local AUTH=jwt" in captured.err


def test_token_for_an_issuer_that_is_gone_is_refused(tmp_path: Path) -> None:
    state_dir = tmp_path / "oidc"
    with LocalIssuer(state_dir) as issuer:
        state = issuer.state
    exited = subprocess.Popen(["true"])
    exited.wait()  # its pid names no process now
    IssuerState(state.issuer, state.kid, state.audience, state.admin_scope, exited.pid).save(
        state_dir
    )
    with pytest.raises(token_tool.TokenError, match="not running"):
        token_tool.token_for("01", state_dir=state_dir)


@pytest.mark.parametrize(("sub", "expires_in"), [("", 60), ("01", 0), ("01", -5)])
def test_token_rejects_bad_arguments(issuer: LocalIssuer, sub: str, expires_in: int) -> None:
    with pytest.raises(token_tool.TokenError):
        token_tool.token_for(sub, expires_in=expires_in, state_dir=issuer.state_dir)


def test_token_cli_prints_only_the_token(
    issuer: LocalIssuer, capsys: pytest.CaptureFixture[str]
) -> None:
    code = token_tool.main(["--sub", "01", "--admin", "--state-dir", str(issuer.state_dir)])
    assert code == 0
    printed = capsys.readouterr().out
    assert printed.endswith("\n")
    assert printed.count("\n") == 1
    assert claims_of(printed.strip())["sub"] == "01"


def test_minted_token_verifies_in_pyjwt_with_the_jwks_it_fetches_over_http(
    issuer: LocalIssuer,
) -> None:
    # A second, independent JOSE implementation: PyJWT's JWKS client and verifier.
    import jwt as pyjwt

    token = issuer.mint("user-7", scopes=["users/admin"])
    signing_key = pyjwt.PyJWKClient(issuer.url + JWKS_PATH).get_signing_key_from_jwt(token)
    claims = pyjwt.decode(token, signing_key.key, algorithms=["RS256"], audience="local-aud")
    assert (claims["sub"], claims["scope"], claims["iss"]) == ("user-7", "users/admin", issuer.url)
