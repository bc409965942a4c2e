"""Who is calling and what they may do. API Gateway authenticates; the function decides.

The identity comes only from the payload-2.0 `requestContext.authorizer` that API Gateway writes
(`jwt.claims` / `jwt.scopes`, or `iam.userArn`), never from a header a client could set itself.
The mode is the stack's `authorization` variable (env AUTHORIZATION):

- NONE: an open API (the README's first-try curl flow); every caller may do everything.
- JWT: the token's `sub` is the caller's `user_id`; a caller acts on its own profile only, unless
  it holds the admin scope (ADMIN_SCOPE), which allows everything, including listing and lookup
  by email (admin-only). PROFILE_READS=any lets signed-in callers read other users' profiles.
- AWS_IAM: IAM policies (execute-api:Invoke on route ARNs) decide which routes a principal may
  call; a signed-in IAM principal is trusted with what its policy lets it reach.

A route that needs a caller and finds no identity is a 401; an identity that may not do this, 403.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

from users_api.errors import Forbidden, Unauthorized
from users_api.rules import is_user_id

MODES: Final = ("NONE", "JWT", "AWS_IAM")
PROFILE_READS: Final = ("self", "any")


@dataclass(frozen=True, slots=True)
class Settings:
    mode: str = "NONE"
    admin_scope: str = "users/admin"
    profile_reads: str = "self"

    @classmethod
    def from_environment(cls) -> Settings:
        settings = cls(
            mode=os.environ.get("AUTHORIZATION", "NONE").upper(),
            admin_scope=os.environ.get("ADMIN_SCOPE", "users/admin"),
            profile_reads=os.environ.get("PROFILE_READS", "self").lower(),
        )
        if settings.mode not in MODES or settings.profile_reads not in PROFILE_READS:
            raise RuntimeError(f"invalid authorization settings: {settings}")
        return settings


@dataclass(frozen=True, slots=True)
class Caller:
    """The caller of one request."""

    principal: str  # for logs and idempotency keys: "anonymous", "jwt:<sub>", "iam:<arn>"
    user_id: str | None = None  # the profile it owns (JWT sub); None: tied to no profile
    admin: bool = False  # may do everything

    def may_act_on(self, user_id: str) -> bool:
        return self.admin or self.user_id == user_id


ANONYMOUS: Final = Caller("anonymous", admin=True)


def caller_of(authorizer: Mapping[str, Any], settings: Settings) -> Caller:
    """The caller behind `requestContext.authorizer`; 401 if the mode needs one and it is absent."""
    if settings.mode == "NONE":
        return ANONYMOUS
    if settings.mode == "JWT":
        jwt = authorizer.get("jwt") or {}
        claims = jwt.get("claims") or {}
        sub = claims.get("sub")
        if not isinstance(sub, str) or not sub:
            raise Unauthorized(
                "A valid bearer token is required", headers={"WWW-Authenticate": "Bearer"}
            )
        scopes = jwt.get("scopes") or claim_values(claims.get("scope") or claims.get("scp"))
        return Caller(f"jwt:{sub}", user_id=sub, admin=settings.admin_scope in scopes)
    iam = authorizer.get("iam") or {}
    arn = iam.get("userArn")
    if not isinstance(arn, str) or not arn:
        raise Unauthorized("A SigV4-signed request is required")
    return Caller(f"iam:{arn}", admin=True)


def claim_values(claim: Any) -> list[str]:
    """The values of a JWT claim as API Gateway hands it to the function.

    The JWT authorizer renders every claim as a string: an array claim (Okta's or Entra ID's
    `scp`: `["users/admin", "openid"]`) arrives as `"[users/admin openid]"`, a space-delimited
    one (OAuth's `scope`) as it is. Both give ["users/admin", "openid"]; so does a real list.
    """
    if isinstance(claim, list):
        return [str(value) for value in claim]
    text = str(claim or "").strip()
    if text.startswith("[") and text.endswith("]"):
        text = text[1:-1]
    return text.split()


def require_admin(caller: Caller, what: str) -> None:
    if not caller.admin:
        raise Forbidden(f"{what} needs the admin scope")


def require_owner(caller: Caller, user_id: str) -> None:
    """Writes: only the profile's owner, or an admin."""
    if not caller.may_act_on(user_id):
        raise Forbidden("You may only act on your own profile")


def require_reader(caller: Caller, user_id: str, settings: Settings) -> None:
    """Reads: the owner, an admin, or any signed-in caller when PROFILE_READS=any."""
    if settings.profile_reads != "any":
        require_owner(caller, user_id)


def own_user_id(caller: Caller) -> str | None:
    """The user_id a caller's own profile has (JWT sub), if it is a valid one."""
    if caller.user_id is None:
        return None
    if not is_user_id(caller.user_id):
        raise Forbidden("The token's sub is not a valid user_id ([A-Za-z0-9_-]{1,64})")
    return caller.user_id
