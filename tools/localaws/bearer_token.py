"""Print a bearer token from the local OIDC issuer that `make local AUTH=jwt` runs.

    python -m tools.localaws.bearer_token --sub 01            # make token SUB=01
    python -m tools.localaws.bearer_token --sub ops --admin   # make token SUB=ops ADMIN=1 (admin
    scope)
    python -m tools.localaws.bearer_token --sub 01 --expires-in 60

    curl -H "Authorization: Bearer $(make -s token SUB=01)" http://127.0.0.1:3000/users/01

The token is signed with the issuer's key from `.local/oidc/` (tools/localaws/oidc.py), carries its
issuer and first audience, `sub` = the user_id the caller acts as, and expires after
--expires-in seconds (default one hour). Exit code 1 with one line saying what to do when no
local issuer is running.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from tools.localaws.oidc import STATE_DIR, STATE_FILE, IssuerState, load_or_create_key, mint


class TokenError(Exception):
    """No token can be minted; the message says why and what to do."""


def process_alive(pid: int) -> bool:
    """Whether a process with this id exists (ours or another user's)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def token_for(
    sub: str,
    *,
    admin: bool = False,
    expires_in: int = 3600,
    state_dir: Path = STATE_DIR,
    now: float | None = None,
) -> str:
    if not sub:
        raise TokenError("--sub must not be empty: it is the user_id the caller acts as")
    if expires_in <= 0:
        raise TokenError("--expires-in must be a positive number of seconds")
    try:
        state = IssuerState.load(state_dir)
    except FileNotFoundError:
        raise TokenError(
            f"no local OIDC issuer ({state_dir / STATE_FILE} does not exist): "
            "start one with make local AUTH=jwt, then run make token again"
        ) from None
    except (ValueError, KeyError) as error:
        raise TokenError(f"{state_dir / STATE_FILE} is unreadable ({error}): remove it") from None
    if not process_alive(state.pid):
        raise TokenError(
            f"the local OIDC issuer {state.issuer} is not running (process {state.pid} is gone): "
            "start make local AUTH=jwt again"
        )
    if not (state_dir / "signing-key.pem").is_file():
        raise TokenError(f"the issuer's signing key is missing from {state_dir}")
    key = load_or_create_key(state_dir)
    scopes = [state.admin_scope] if admin else []
    return mint(state, key, sub, scopes=scopes, expires_in=expires_in, now=now)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Print a bearer token from the local issuer.")
    parser.add_argument("--sub", required=True, help="the user_id the token's holder acts as")
    parser.add_argument("--admin", action="store_true", help="add the admin scope")
    parser.add_argument("--expires-in", type=int, default=3600, help="seconds (default 3600)")
    parser.add_argument("--state-dir", type=Path, default=STATE_DIR)
    args = parser.parse_args(argv)
    try:
        token = token_for(
            args.sub, admin=args.admin, expires_in=args.expires_in, state_dir=args.state_dir
        )
    except TokenError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    print(token)
    return 0


if __name__ == "__main__":
    sys.exit(main())
