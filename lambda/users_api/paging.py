"""Opaque `next_token`s for `GET /users`: the last user id of a page, signed against tampering.

The token is `base64url(user id) "." base64url(HMAC-SHA256)[:16]`. The HMAC key is derived from
the table name, so a token is only accepted by the stack that issued it and an edited or
truncated token is a 400 rather than a silently different page. (Listing is no access boundary,
so the key need not be secret; integrity is the point.)
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac

from users_api.errors import BadRequest
from users_api.rules import is_user_id


class PageTokens:
    def __init__(self, scope: str) -> None:
        self._key = hashlib.sha256(f"users-api/next-token/{scope}".encode()).digest()

    def encode(self, user_id: str) -> str:
        return f"{_b64(user_id.encode())}.{self._signature(user_id)}"

    def decode(self, token: str) -> str:
        payload, _, signature = token.partition(".")
        try:
            user_id = base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)).decode()
        except (binascii.Error, UnicodeDecodeError, ValueError):
            user_id = ""
        if not (
            is_user_id(user_id)
            and _b64(user_id.encode()) == payload  # only the canonical encoding
            and hmac.compare_digest(signature, self._signature(user_id))
        ):
            raise BadRequest(
                "next_token is invalid or was not issued by this API", code="invalid_next_token"
            )
        return user_id

    def _signature(self, user_id: str) -> str:
        return _b64(hmac.new(self._key, user_id.encode(), hashlib.sha256).digest()[:12])


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()
