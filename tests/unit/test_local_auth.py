"""`make local AUTH=none|jwt|iam` (tools/localaws/local.py): the variables each mode applies and
what the
banner tells the user; the modes themselves are applied and served in tests/infra/test_auth.py
and tests/e2e/test_auth_local.py with these same variables."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tools.localaws.local import AUTH_MODES, LocalError, LocalStack, auth_variables, ready_banner
from tools.localaws.oidc import LocalIssuer

REPO = Path(__file__).resolve().parents[2]


def test_each_mode_applies_its_authorization(tmp_path: Path) -> None:
    issuer = LocalIssuer(tmp_path, audience=["local-aud"], admin_scope="users/admin")
    issuer.port = 4321
    assert auth_variables("none", None) == {}
    assert auth_variables("iam", None) == {"authorization": "AWS_IAM"}
    assert auth_variables("jwt", issuer) == {
        "authorization": "JWT",
        "jwt_issuer": "http://127.0.0.1:4321",
        "jwt_audience": ["local-aud"],
        "admin_scope": "users/admin",
    }


def test_jwt_banner_says_how_to_get_a_token() -> None:
    banner = ready_banner("http://127.0.0.1:3000", "e", 3, "jwt", "http://127.0.0.1:4321")
    assert "authorization JWT" in banner
    assert "local issuer http://127.0.0.1:4321" in banner
    assert "TOKEN=$(make -s token SUB=01)" in banner
    assert '-H "Authorization: Bearer $TOKEN"' in banner
    assert "make -s token SUB=ops ADMIN=1" in banner


def test_iam_banner_shows_a_signed_curl() -> None:
    banner = ready_banner("http://127.0.0.1:3000", "e", 3, "iam")
    assert 'curl --aws-sigv4 "aws:amz:us-east-1:execute-api" --user test:test' in banner


def test_open_banner_keeps_the_readme_curls() -> None:
    banner = ready_banner("http://127.0.0.1:3000", "e", 3)
    assert "authorization NONE" in banner
    assert "curl 'http://127.0.0.1:3000/users?id=01'" in banner
    assert "Bearer" not in banner
    assert "aws-sigv4" not in banner


def test_unknown_mode_is_refused() -> None:
    assert AUTH_MODES == ("none", "jwt", "iam")
    with pytest.raises(LocalError, match="--auth must be one of none, jwt, iam"):
        LocalStack("127.0.0.1", 1, 2, 1, auth="oauth")
    result = subprocess.run(
        [sys.executable, "-m", "tools.localaws.local", "--auth", "oauth"],
        capture_output=True, text=True, timeout=60, check=False, cwd=REPO,
    )  # fmt: skip
    assert result.returncode == 2
    assert "invalid choice: 'oauth'" in result.stderr
