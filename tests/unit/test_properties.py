"""Properties (hypothesis) of the function's input layers: the models, page tokens, If-Match
parsing and the payload-2.0 event translation.

Deterministic: `derandomize=True` (examples come from a fixed seed per test), no example
database, a bounded number of examples per test (EXAMPLES), no per-example time limit (a loaded
machine must not fail the suite).
"""

from __future__ import annotations

import base64
import string
from datetime import datetime
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.unit.conftest import Api
from tools.events import http_api_event
from users_api.errors import BadRequest, UnprocessableContent, ValidationFailed
from users_api.http import MAX_IF_MATCH_TAGS, Request, parse_event
from users_api.http import if_match_versions as _if_match
from users_api.paging import PageTokens
from users_api.schema import validate
from users_api.users.repository import CREATED_KEY_PATTERN
from users_api.users.schema import UserCreate, UserPatch, UserReplace

EXAMPLES = 100
DETERMINISTIC = settings(
    max_examples=EXAMPLES,
    derandomize=True,
    database=None,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

# -- strategies ---------------------------------------------------------------------------------

user_ids = st.from_regex(r"\A[A-Za-z0-9_-]{1,64}\Z")
# Printable names: no control characters, lone surrogates or line/paragraph separators.
name_chars = st.characters(blacklist_categories=("Cc", "Cs", "Zl", "Zp"))
names = st.text(name_chars, min_size=1, max_size=200).filter(lambda n: 0 < len(n.strip()) <= 200)
labels = st.text(string.ascii_lowercase + string.digits, min_size=1, max_size=12)
emails = st.builds(
    lambda local, domain, tld: f"{local}@{domain}.{tld}",
    labels,
    labels,
    st.text(string.ascii_lowercase, min_size=2, max_size=6),
)
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=300),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4)
    ),
    max_leaves=12,
)
# Bodies that look like ours, with wrong types, unknown fields and bad values mixed in.
field_values = st.one_of(json_values, user_ids, names, emails, st.text(max_size=300))
bodies = st.dictionaries(
    st.sampled_from(["user_id", "name", "email", "version", "extra", "$ne", "#name", ":v"]),
    field_values,
    max_size=4,
)

# -- the models -----------------------------------------------------------------------------


@DETERMINISTIC
@given(user_id=user_ids, name=names, email=st.none() | emails)
def test_valid_create_input_round_trips(user_id: str, name: str, email: str | None) -> None:
    data: dict[str, Any] = {"user_id": user_id, "name": name}
    if email is not None:
        data["email"] = email.upper()
    model = validate(UserCreate, data)
    assert model.user_id == user_id
    assert model.name == name.strip()
    assert model.email == (email.lower() if email else None)
    # What the API stores validates again to itself.
    assert validate(UserCreate, model.model_dump(exclude_none=True)) == model


@DETERMINISTIC
@given(body=bodies | json_values)
def test_any_body_either_validates_or_is_a_400_naming_fields(body: Any) -> None:
    for model in (UserCreate, UserReplace, UserPatch):
        fields = _field_errors(model, body)
        if fields is not None:
            assert fields
            assert all(set(f) == {"field", "message", "type"} for f in fields)


def _field_errors(model: Any, body: Any) -> list[dict[str, str]] | None:
    """None when `body` is valid for `model`; the 400's fields otherwise (any other error
    propagates and fails the test)."""
    try:
        validate(model, body)
    except ValidationFailed as error:
        status, fields = error.status, list(error.details["fields"])
    else:
        return None
    assert status == 400
    return fields


@DETERMINISTIC
@given(name=st.text(min_size=1, max_size=20), bad=st.characters(categories=("Cc", "Zl", "Zp")))
def test_names_with_control_characters_are_refused(name: str, bad: str) -> None:
    with pytest.raises(ValidationFailed):
        validate(UserCreate, {"name": name[:10] + bad + name[10:] + "x"})


@settings(DETERMINISTIC, max_examples=60)
@given(body=bodies, method=st.sampled_from(["POST", "PUT", "PATCH"]))
def test_hostile_bodies_through_the_handler_never_500(
    api: Api, body: dict[str, Any], method: str
) -> None:
    path = "/users" if method == "POST" else "/users/someone"
    result = api(method, path, body=body)
    assert result.status in {200, 201, 400, 404, 409}, result.body
    if result.status >= 400:
        assert set(result.body) >= {"error", "code"}


# -- page tokens -----------------------------------------------------------------------------

timestamps = st.datetimes(
    min_value=datetime(2000, 1, 1),
    max_value=datetime(2099, 12, 31),
).map(lambda d: d.isoformat(timespec="milliseconds") + "Z")
created_keys = st.builds(lambda t, uid: f"{t}#{uid}", timestamps, user_ids)
windows = st.none() | timestamps


@DETERMINISTIC
@given(after=created_keys, lower=windows, upper=windows)
def test_page_token_round_trips(after: str, lower: str | None, upper: str | None) -> None:
    tokens = PageTokens("users-test-users", CREATED_KEY_PATTERN)
    assert tokens.decode(tokens.encode(after, lower, upper), lower, upper) == after


@DETERMINISTIC
@given(
    token=st.text(max_size=600)
    | st.binary(max_size=200).map(lambda b: base64.b64encode(b).decode())
)
def test_any_other_string_is_a_400_or_422_never_an_exception(token: str) -> None:
    with pytest.raises((BadRequest, UnprocessableContent)) as raised:
        PageTokens("users-test-users", CREATED_KEY_PATTERN).decode(token)
    assert raised.value.code == "invalid_next_token"


@DETERMINISTIC
@given(after=created_keys, flip=st.integers(min_value=0))
def test_edited_or_foreign_tokens_are_422_or_400(after: str, flip: int) -> None:
    ours, theirs = (
        PageTokens("users-test-users", CREATED_KEY_PATTERN),
        PageTokens("another-stack-users", CREATED_KEY_PATTERN),
    )
    with pytest.raises(UnprocessableContent):  # well formed, not ours
        ours.decode(theirs.encode(after))
    token = ours.encode(after)
    position = flip % len(token)
    replacement = "A" if token[position] != "A" else "B"
    edited = token[:position] + replacement + token[position + 1 :]
    with pytest.raises((UnprocessableContent, BadRequest)):  # 400 when the edit broke the shape
        ours.decode(edited)


# -- If-Match --------------------------------------------------------------------------------


def if_match(header: str) -> set[int] | None:
    return _if_match(Request("PUT", "/users/x", headers={"if-match": header}))


@DETERMINISTIC
@given(header=st.text(max_size=2000) | st.from_regex(r'\A(W/)?"[0-9²³¹٣]{0,60}"\Z'))
def test_if_match_never_raises_and_only_our_tags_match(header: str) -> None:
    versions = if_match(header)
    if versions is None:
        assert header.strip() == "*"
        return
    issued = {f'"{v}"' for v in versions}
    tags = {tag.strip() for tag in header.split(",")}
    assert issued <= tags  # every version matched was written as one of our tags
    assert all(0 < v < 10**18 for v in versions)


@DETERMINISTIC
@given(versions=st.lists(st.integers(min_value=1, max_value=10**18 - 1), min_size=1, max_size=20))
def test_if_match_accepts_every_tag_this_api_issues(versions: list[int]) -> None:
    assert len(versions) <= MAX_IF_MATCH_TAGS
    header = ", ".join(f'"{v}"' for v in versions)
    assert if_match(header) == set(versions)
    assert if_match(f'W/"{versions[0]}"') == set()  # weak tags never match (strong comparison)
    assert if_match(f'"0{versions[0]}"') == set()  # "01" is not "1"


# -- the event translation ---------------------------------------------------------------------

header_names = st.text(
    string.ascii_lowercase + string.digits + "-", min_size=1, max_size=20
).filter(lambda n: n not in {"cookie", "host", "content-type"} and not n.startswith("x-"))
header_values = (
    st.text(string.printable.strip() + " ", min_size=1, max_size=40).map(str.strip).filter(bool)
)
segments = st.text(string.ascii_letters + string.digits + "-_.~", min_size=1, max_size=20)
query_text = st.text(st.characters(blacklist_categories=("Cs",)), max_size=20)


@DETERMINISTIC
@given(
    method=st.sampled_from(["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"]),
    path=st.lists(segments, min_size=1, max_size=4).map(lambda s: "/" + "/".join(s)),
    query=st.lists(st.tuples(query_text.filter(bool), query_text), max_size=4),
    headers=st.dictionaries(header_names, header_values, max_size=5),
    body=st.none() | st.binary(min_size=1, max_size=2000),
    text_body=st.booleans(),
)
def test_event_translation_round_trips(
    method: str,
    path: str,
    query: list[tuple[str, str]],
    headers: dict[str, str],
    body: bytes | None,
    text_body: bool,
) -> None:
    content_type = "application/json" if text_body else "application/octet-stream"
    event = http_api_event(
        method, path, query=query, headers={**headers, "content-type": content_type}, body=body
    )
    request = parse_event(event)

    assert request.method == method
    assert request.path == path
    joined: dict[str, str] = {}
    for key, value in query:
        joined[key] = f"{joined[key]},{value}" if key in joined else value
    assert request.query == joined
    for name, value in headers.items():
        assert request.header(name) == value
    assert request.header("Content-Type") == content_type
    assert request.body == body
