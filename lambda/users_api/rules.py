"""The field rules, free of pydantic so the read path never imports it.

`users.schema` builds the API's pydantic schema from these; the read routes (get by id, path or
email) use them directly, which keeps pydantic's import and schema building (most of a cold
start beyond boto3's) off a cold start that serves a read. See README, "Performance".
"""

from __future__ import annotations

import re
import unicodedata
from datetime import UTC, datetime
from typing import Final

USER_ID_PATTERN: Final = r"^[A-Za-z0-9_-]{1,64}$"
USER_ID: Final = re.compile(USER_ID_PATTERN)
MAX_NAME_LENGTH: Final = 200
MAX_EMAIL_LENGTH: Final = 254
DEFAULT_PAGE_SIZE: Final = 10
MAX_PAGE_SIZE: Final = 100

# Pragmatic address check (RFC 5322 is far looser): one @, no spaces, a dotted domain of
# letters/digits/hyphens. Stored lower-case so uniqueness ignores case.
_EMAIL: Final = re.compile(
    r"^[a-z0-9!#$%&'*+/=?^_`{|}~.-]{1,64}@(?=.{1,253}$)"
    r"(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$"
)
INVALID_EMAIL: Final = "value is not a valid email address"


def normalise_email(value: str) -> str:
    """The address lower-cased and trimmed; ValueError if it is not a valid address."""
    email = value.strip().lower()
    local = email.partition("@")[0]
    if (
        len(email) > MAX_EMAIL_LENGTH
        or not _EMAIL.match(email)
        or local.startswith(".")
        or local.endswith(".")
        or ".." in local
    ):
        raise ValueError(INVALID_EMAIL)
    return email


def is_user_id(value: str) -> bool:
    return USER_ID.fullmatch(value) is not None


# Control characters (NUL, C0, DEL, C1), lone surrogates (not encodable as UTF-8, so DynamoDB
# would refuse them) and line/paragraph separators have no place in a name.
_FORBIDDEN_IN_NAMES: Final = frozenset({"Cc", "Cs", "Zl", "Zp"})
INVALID_NAME: Final = "name must not contain control characters"


def check_name(value: str) -> str:
    """`value` if it holds no control character; ValueError otherwise."""
    if any(unicodedata.category(char) in _FORBIDDEN_IN_NAMES for char in value):
        raise ValueError(INVALID_NAME)
    return value


INVALID_TIMESTAMP: Final = "value is not an ISO-8601 date or date-time (e.g. 2026-11-23T08:30:00Z)"


def normalise_timestamp(value: str) -> str:
    """An ISO-8601 date or date-time as the API stores times: UTC, milliseconds, `Z`.

    A date means its midnight UTC; a date-time without an offset is taken as UTC. ValueError if
    it is neither.
    """
    try:
        parsed = datetime.fromisoformat(value.strip())
    except ValueError:
        raise ValueError(INVALID_TIMESTAMP) from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
