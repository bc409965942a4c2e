"""The field rules, free of pydantic so the read path never imports it.

`users.schema` builds the API's pydantic schema from these; the read routes (get by id, path or
email) use them directly, which keeps pydantic's import and schema building (most of a cold
start beyond boto3's) off a cold start that serves a read. See README, "Performance".
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Final

USER_ID_PATTERN: Final = r"^[A-Za-z0-9_-]{1,64}$"
USER_ID: Final = re.compile(USER_ID_PATTERN)
MAX_NAME_LENGTH: Final = 200
MAX_EMAIL_LENGTH: Final = 254
DEFAULT_PAGE_SIZE: Final = 10
MAX_PAGE_SIZE: Final = 100

# Whitespace a name or an email may be padded with: exactly what `str.strip()` removes, i.e.
# the blanks below and the control characters and separators that are whitespace.
_BLANK: Final = r" \xa0\u1680\u2000-\u200a\u202f\u205f\u3000"
_SPACE: Final = rf"\t\n\x0b\x0c\r\x1c-\x1f\x85\u2028\u2029{_BLANK}"
# What no name holds: control characters (C0, DEL, C1) and line/paragraph separators. (Nor a
# lone surrogate: not encodable as UTF-8, so DynamoDB would refuse it. No pattern says that:
# JSON Schema validators and generators work on code points a UTF-8 text can carry.)
_CONTROL: Final = r"\x00-\x1f\x7f-\x9f\u2028\u2029"
_SURROGATE: Final = re.compile(r"[\ud800-\udfff]")

# The rules are regular expressions that the OpenAPI document publishes as they are (JSON Schema
# `pattern`, ECMA-262 and Python alike, without lookaround so that generators can draw from
# them) and the function checks as they are: what a client is told is what the server does.
# Surrounding whitespace is allowed and trimmed before storing.

# 1-MAX_NAME_LENGTH characters once trimmed, none of them a control character or separator.
NAME_PATTERN: Final = (
    rf"^[{_SPACE}]*[^{_CONTROL}{_BLANK}]"
    rf"(?:[^{_CONTROL}]{{0,{MAX_NAME_LENGTH - 2}}}[^{_CONTROL}{_BLANK}])?[{_SPACE}]*$"
)
_NAME: Final = re.compile(NAME_PATTERN)
INVALID_NAME: Final = "name must not contain control characters"

# Pragmatic address check (RFC 5322 is far looser): a dot-atom local part, one @, a dotted
# domain of letters/digits/hyphens (labels of at most 63) with a letters-only top level, at most
# MAX_EMAIL_LENGTH characters as sent (the schema's maxLength). Stored lower-case, so uniqueness
# ignores case.
_ATOM: Final = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+"
_LABEL: Final = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
EMAIL_PATTERN: Final = (
    rf"^[{_SPACE}]*{_ATOM}(?:\.{_ATOM})*@(?:{_LABEL}\.)+[A-Za-z]{{2,63}}[{_SPACE}]*$"
)
_EMAIL: Final = re.compile(EMAIL_PATTERN)
INVALID_EMAIL: Final = "value is not a valid email address"


def normalise_email(value: str) -> str:
    """The address trimmed and lower-cased; ValueError unless it matches EMAIL_PATTERN within
    MAX_EMAIL_LENGTH characters."""
    if len(value) > MAX_EMAIL_LENGTH or _EMAIL.fullmatch(value) is None:
        raise ValueError(INVALID_EMAIL)
    return value.strip().lower()


def is_user_id(value: str) -> bool:
    return USER_ID.fullmatch(value) is not None


def check_name(value: str) -> str:
    """`value` trimmed if it matches NAME_PATTERN; ValueError (saying why) otherwise."""
    if _NAME.fullmatch(value) is not None and _SURROGATE.search(value) is None:
        return value.strip()
    trimmed = value.strip()
    if not trimmed:
        raise ValueError("name must not be empty")
    if len(trimmed) > MAX_NAME_LENGTH:
        raise ValueError(f"name must be at most {MAX_NAME_LENGTH} characters")
    raise ValueError(INVALID_NAME)


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
    try:
        utc = parsed.astimezone(UTC)
    except OverflowError:  # e.g. 0001-01-01T00:00:00+01:00: before or after what UTC can hold
        utc = (datetime.min if parsed.year == 1 else datetime.max).replace(tzinfo=UTC)
    return utc.isoformat(timespec="milliseconds").replace("+00:00", "Z")
