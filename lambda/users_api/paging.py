"""Opaque `next_token`s for listings: where the next page starts, signed against tampering.

A token holds the sort key of the page's last item (a repository's own key format, checked with
the pattern it gives) and the date window the listing was asked
for (`created_after`, `created_before`), as compact JSON, base64url-encoded, then `.` and a
truncated HMAC-SHA256. Continuing with other window parameters than the token's, an edited or
truncated token, or one from another stack is a 400 rather than a silently different page.

The HMAC key is derived from the listed table's name: it binds tokens to the stack and listing
that issued them. It is not a secret (listing is admin-only when authorization is on, and a token
only says where a page starts), so integrity, not confidentiality, is the point.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import re

from users_api.errors import BadRequest


class PageTokens:
    def __init__(self, scope: str, key_pattern: re.Pattern[str]) -> None:
        """Tokens of the listing of table `scope`, whose keys match `key_pattern` in full."""
        self._key = hashlib.sha256(f"users-api/next-token/v2/{scope}".encode()).digest()
        self._key_pattern = key_pattern

    def encode(
        self, after: str, created_after: str | None = None, created_before: str | None = None
    ) -> str:
        payload = _b64(json.dumps([after, created_after, created_before], separators=(",", ":")))
        return f"{payload}.{self._signature(payload)}"

    def decode(
        self, token: str, created_after: str | None = None, created_before: str | None = None
    ) -> str:
        """The sort key to continue after; 400 unless this API issued the token for the
        same window."""
        payload, _, signature = token.partition(".")
        if not hmac.compare_digest(signature, self._signature(payload)):
            raise _invalid("next_token is invalid or was not issued by this API")
        try:
            after, window_after, window_before = json.loads(_unb64(payload))
        except (binascii.Error, UnicodeDecodeError, ValueError, TypeError):
            raise _invalid("next_token is invalid or was not issued by this API") from None
        if not isinstance(after, str) or not self._key_pattern.fullmatch(after):
            raise _invalid("next_token is invalid or was not issued by this API")
        if (window_after, window_before) != (created_after, created_before):
            raise _invalid(
                "next_token belongs to a listing with other created_after/created_before values"
            )
        return after

    def _signature(self, payload: str) -> str:
        return _b64(hmac.new(self._key, payload.encode(), hashlib.sha256).digest()[:16])


def _invalid(message: str) -> BadRequest:
    return BadRequest(message, code="invalid_next_token")


def _b64(data: str | bytes) -> str:
    raw = data.encode() if isinstance(data, str) else data
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _unb64(text: str) -> str:
    if not re.fullmatch(r"[A-Za-z0-9_-]*", text):
        raise ValueError("not base64url")
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)).decode()
