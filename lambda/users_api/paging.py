"""Opaque `next_token`s for listings: where the next page starts, signed against tampering.

A token holds the sort key of the page's last item (a repository's own key format, checked with
the pattern it gives) and the date window the listing was asked
for (`created_after`, `created_before`), as compact JSON, base64url-encoded, then `.` and a
truncated HMAC-SHA256 (TOKEN_PATTERN, which the OpenAPI document publishes). A string of another
shape is a 400; a token of that shape that this API did not issue for the same window (edited,
from another stack, or continued with other window parameters) is a 422 rather than a silently
different page: well formed, but nothing the server can continue.

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
from typing import Final

from users_api.errors import BadRequest, UnprocessableContent

MAX_TOKEN_LENGTH: Final = 512
_SIGNATURE_LENGTH: Final = 22  # 16 bytes, base64url without padding
TOKEN_PATTERN: Final = (
    rf"^[A-Za-z0-9_-]{{1,{MAX_TOKEN_LENGTH - _SIGNATURE_LENGTH - 1}}}"
    rf"\.[A-Za-z0-9_-]{{{_SIGNATURE_LENGTH}}}$"
)
_TOKEN: Final = re.compile(TOKEN_PATTERN)


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
        """The sort key to continue after: 400 if `token` is not of TOKEN_PATTERN's shape, 422
        unless this API issued it for the same window."""
        if _TOKEN.fullmatch(token) is None:
            raise BadRequest("next_token is not a token this API issues", code="invalid_next_token")
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


def _invalid(message: str) -> UnprocessableContent:
    return UnprocessableContent(message, code="invalid_next_token")


def _b64(data: str | bytes) -> str:
    raw = data.encode() if isinstance(data, str) else data
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _unb64(text: str) -> str:
    if not re.fullmatch(r"[A-Za-z0-9_-]*", text):
        raise ValueError("not base64url")
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)).decode()
