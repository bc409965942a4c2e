"""The field rules, free of pydantic so the read path never imports it.

`models.py` builds the API's pydantic schema from these; the read routes (get by id, path or
email) use them directly, which keeps pydantic's import and schema building (most of a cold
start beyond boto3's) off a cold start that serves a read. See README, "Performance".
"""

from __future__ import annotations

import re
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
