"""A hostile-input corpus over HTTP, as `make local` serves it: the local API Gateway front ->
the deployed package -> DynamoDB in the emulator, on the session's default stack.

Every case must get a 4xx with a JSON error body (ours, `{"error", "code"}`, or API Gateway's
own `{"message"}`) and no stack trace; afterwards every table of the stack is byte-for-byte what
it was before the corpus ran (scanned through the emulator). Requests go through http.client so
headers can repeat and bodies can be any bytes.
"""

from __future__ import annotations

import gzip
import http.client
import json
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

import pytest

from tests.e2e.conftest import serve_stack
from tools.localaws.gateway import LocalGateway

REPO = Path(__file__).resolve().parents[2]
RUN = uuid.uuid4().hex[:8]
ANN = f"hostile-{RUN}"  # the one user the corpus aims its updates and deletes at

pytestmark = pytest.mark.slow


@dataclass(frozen=True)
class Case:
    method: str
    path: str
    body: bytes | None = None
    headers: list[tuple[str, str]] = field(default_factory=list)


def send(url: str, case: Case) -> tuple[int, dict[str, str], bytes]:
    parts = urlsplit(url)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
    try:
        connection.putrequest(case.method, case.path, skip_accept_encoding=True)
        for name, value in case.headers:
            connection.putheader(name, value.encode())  # UTF-8 on the wire, as clients send it
        if case.body is not None:
            connection.putheader("Content-Length", str(len(case.body)))
        connection.endheaders(case.body)
        response = connection.getresponse()
        return response.status, {k.lower(): v for k, v in response.getheaders()}, response.read()
    finally:
        connection.close()


JSON = [("Content-Type", "application/json")]


def post(body: bytes, headers: list[tuple[str, str]] | None = None) -> Case:
    return Case("POST", "/users", body, JSON if headers is None else headers)


def put_ann(if_match: str | list[str], body: bytes = b'{"name": "Mallory"}') -> Case:
    tags = [if_match] if isinstance(if_match, str) else if_match
    return Case("PUT", f"/users/{ANN}", body, JSON + [("If-Match", tag) for tag in tags])


def nested(depth: int, opening: str, closing: str) -> bytes:
    return (opening * depth + "1" + closing * depth).encode()


CORPUS: dict[str, Case] = {
    # malformed, nested, huge JSON
    "json-unclosed": post(b'{"name": "a"'),
    "json-trailing-comma": post(b'{"name": "a",}'),
    "json-single-quotes": post(b"{'name': 'a'}"),
    "json-array": post(b'[{"name": "a"}]'),
    "json-string": post(b'"a"'),
    "json-null": post(b"null"),
    "json-number": post(b"7"),
    "json-nested-arrays-20000": post(nested(20000, "[", "]")),
    "json-nested-objects-5000": post(b'{"a":' * 5000 + b"1" + b"}" * 5000),
    "json-nested-in-name": post(b'{"name": ' + nested(3000, "[", "]") + b"}"),
    "json-over-64kb": post(json.dumps({"name": "a" * 70_000}).encode()),
    "json-over-64kb-whitespace": post(b'{"name": "a"' + b" " * 70_000 + b"}"),
    "json-duplicate-name": post(b'{"name": "a", "name": "b"}'),
    "json-duplicate-user-id": post(
        f'{{"user_id": "{ANN}", "user_id": "x{RUN}", "name": "a"}}'.encode()
    ),
    "json-huge-exponent": post(b'{"name": "a", "user_id": 1e999999}'),
    "json-5000-digit-int": post(b'{"name": ' + b"9" * 5000 + b"}"),
    "json-nan": post(b'{"name": NaN}'),
    "json-infinity": post(b'{"name": "a", "user_id": -Infinity}'),
    # NUL, invalid UTF-8, lone surrogates
    "nul-escape-in-name": post(b'{"name": "a\\u0000b"}'),
    "nul-byte-in-body": post(b'{"name": "a\x00b"}'),
    "control-char-in-name": post(b'{"name": "bell\\u0007"}'),
    "line-separator-in-name": post(b'{"name": "a\\u2028b"}'),
    "invalid-utf8": post(b'{"name": "\xff\xfe\xfd"}'),
    "overlong-utf8-slash": post(b'{"name": "\xc0\xaf"}'),
    "truncated-utf8": post(b'{"name": "\xe2\x82"}'),
    "lone-high-surrogate-name": post(b'{"name": "\\ud800"}'),
    "lone-low-surrogate-name": post(b'{"name": "x\\udfff"}'),
    "lone-surrogate-email": post(b'{"name": "a", "email": "\\ud800@example.com"}'),
    "lone-surrogate-user-id": post(b'{"name": "a", "user_id": "\\ud800"}'),
    # wrongly encoded bodies and content types
    "empty-body": post(b""),
    "base64-of-garbage-as-json": post(b"/////wAAAP8AAAD/AAAA"),
    "gzip-without-content-encoding-support": post(
        gzip.compress(b'{"name": "a"}'), [*JSON, ("Content-Encoding", "gzip")]
    ),
    "gzip-as-octet-stream": post(
        gzip.compress(b'{"name": "a"}'), [("Content-Type", "application/octet-stream")]
    ),
    "xml-body": post(b"<user><name>a</name></user>", [("Content-Type", "application/xml")]),
    "form-body": post(
        b"name=a&email=a%40example.com", [("Content-Type", "application/x-www-form-urlencoded")]
    ),
    "multipart-body": post(
        b'--b\r\nContent-Disposition: form-data; name="name"\r\n\r\na\r\n--b--\r\n',
        [("Content-Type", "multipart/form-data; boundary=b")],
    ),
    "text-plain-garbage": post(b"DROP TABLE users;", [("Content-Type", "text/plain")]),
    # injection-looking values
    "sql-in-user-id": post(b'{"user_id": "1\' OR \'1\'=\'1", "name": "a"}'),
    "nosql-operator-as-user-id": post(b'{"user_id": {"$ne": 1}, "name": "a"}'),
    "nosql-operator-as-name": post(b'{"name": {"$ne": 1}}'),
    "nosql-operator-field": post(b'{"name": "a", "$where": "1 == 1"}'),
    "expression-name-as-user-id": post(b'{"user_id": "#name", "name": "a"}'),
    "expression-value-as-user-id": post(b'{"user_id": ":v", "name": "a"}'),
    "condition-as-email": post(b'{"name": "a", "email": "attribute_exists(email)"}'),
    "sql-in-email": post(b'{"name": "a", "email": "a@b.com\' OR 1=1--"}'),
    "query-id-sql": Case("GET", "/users?id=" + quote("' OR 1=1 --")),
    "query-email-nosql": Case("GET", "/users?email=" + quote('{"$ne":1}')),
    "query-id-expression-name": Case("GET", "/users?id=" + quote("#name")),
    "query-limit-expression": Case("GET", "/users?limit=" + quote(":v")),
    "query-limit-huge": Case("GET", "/users?limit=99999999999999999999999"),
    "query-limit-negative": Case("GET", "/users?limit=-1"),
    "query-limit-float": Case("GET", "/users?limit=1e3"),
    "query-created-after-garbage": Case("GET", "/users?created_after=yesterday"),
    "query-unknown-parameter": Case("GET", "/users?" + quote("$where") + "=1"),
    "query-id-and-email": Case("GET", "/users?id=a&email=a%40example.com"),
    # page tokens (filled in by the fixture: they need a real one)
    # odd and repeated headers
    "if-match-5000-digits": put_ann('"' + "9" * 5000 + '"'),
    "if-match-superscript-digit": put_ann('"²"'),
    "if-match-arabic-digit": put_ann('"\u0661"'),
    "if-match-leading-zero": put_ann('"01"'),
    "if-match-weak": put_ann('W/"1"'),
    "if-match-unquoted": put_ann("1"),
    "if-match-negative": put_ann('"-1"'),
    "if-match-decimal": put_ann('"1.0"'),
    "if-match-39-digits": put_ann('"' + "1" * 39 + '"'),
    "if-match-101-tags": put_ann(", ".join(f'"{i}"' for i in range(2, 103))),
    "if-match-8kb": put_ann('"2", ' + " " * 8000 + '"3"'),
    "if-match-repeated-headers": put_ann(['"2"', '"3"']),
    "if-match-on-delete": Case("DELETE", f"/users/{ANN}", headers=[("If-Match", '"2"')]),
    "if-match-on-patch": Case(
        "PATCH", f"/users/{ANN}", b'{"name": "M"}', [*JSON, ("If-Match", '"999"')]
    ),
    "idempotency-key-too-long": post(
        f'{{"user_id": "k{RUN}", "name": "a"}}'.encode(), [*JSON, ("Idempotency-Key", "k" * 300)]
    ),
    "idempotency-key-non-ascii": post(
        f'{{"user_id": "k{RUN}", "name": "a"}}'.encode(), [*JSON, ("Idempotency-Key", "cl\xe9")]
    ),
    "idempotency-key-control-char": post(
        f'{{"user_id": "k{RUN}", "name": "a"}}'.encode(), [*JSON, ("Idempotency-Key", "a\tb")]
    ),
    # paths: traversal, encoded slashes, odd ids
    "path-traversal-encoded": Case("GET", "/users/..%2F..%2Fetc%2Fpasswd"),
    "path-dot-dot": Case("GET", "/users/%2e%2e"),
    "path-encoded-slash-delete": Case("DELETE", f"/users/{ANN}%2Fx"),
    "path-nul": Case("GET", "/users/a%00b"),
    "path-emoji": Case("GET", "/users/%F0%9F%92%A9"),
    "path-space-put": Case("PUT", "/users/x%20y", b'{"name": "a"}', JSON),
    "path-65-chars": Case("GET", "/users/" + "a" * 65),
    "path-extra-segment": Case("GET", f"/users/{ANN}/admin"),
    "path-dynamodb-expression": Case("DELETE", "/users/" + quote("#name")),
    "method-delete-on-collection": Case("DELETE", "/users"),
    # bodies that are JSON objects but invalid for the route
    "patch-null-name": Case("PATCH", f"/users/{ANN}", b'{"name": null}', JSON),
    "patch-email-number": Case("PATCH", f"/users/{ANN}", b'{"email": 5}', JSON),
    "put-name-201-chars": Case(
        "PUT", f"/users/{ANN}", json.dumps({"name": "a" * 201}).encode(), JSON
    ),
    "post-blank-name": post(b'{"name": "   "}'),
    "post-version-field": post(b'{"name": "a", "version": 99}'),
}


@pytest.fixture(scope="module")
def gateway(front_stack: Any) -> Iterator[LocalGateway]:
    with serve_stack(front_stack, max_workers=2) as local:
        yield local


def stack_tables(front_stack: Any) -> list[str]:
    client = front_stack.client("dynamodb")
    prefix = f"{front_stack.variables['name']}-{front_stack.variables['environment']}-"
    return sorted(t for t in client.list_tables()["TableNames"] if t.startswith(prefix))


def snapshot(front_stack: Any) -> dict[str, list[str]]:
    """Every item of every table of the stack, as canonical JSON text."""
    client = front_stack.client("dynamodb")
    state: dict[str, list[str]] = {}
    for table in stack_tables(front_stack):
        items: list[str] = []
        for page in client.get_paginator("scan").paginate(TableName=table, ConsistentRead=True):
            items += [json.dumps(item, sort_keys=True) for item in page["Items"]]
        state[table] = sorted(items)
    return state


TOKEN_CASES = [
    "token-forged-random",
    "token-edited-signature",
    "token-edited-payload",
    "token-truncated",
    "token-other-stack",
    "token-replayed-other-window",
    "token-600-chars",
    "token-dynamodb-key-json",
]
ALL_CASES = [*CORPUS, *TOKEN_CASES]


@dataclass
class Corpus:
    cases: dict[str, Case]
    before: dict[str, list[str]]


@pytest.fixture(scope="module")
def corpus(gateway: LocalGateway, front_stack: Any) -> Corpus:
    """The target user and a real page token (to forge from), then the tables' state."""
    seed = Case("POST", "/users", json.dumps({"user_id": ANN, "name": "Ann"}).encode(), JSON)
    assert send(gateway.url, seed)[0] == 201
    for i in range(3):
        body = json.dumps({"user_id": f"{ANN}-{i}", "name": "Pager"}).encode()
        assert send(gateway.url, Case("POST", "/users", body, JSON))[0] == 201
    status, _, page = send(gateway.url, Case("GET", "/users?limit=1"))
    assert status == 200
    token = json.loads(page)["next_token"]
    payload, _, signature = token.partition(".")
    from users_api.paging import PageTokens  # the function's codec, keyed for another stack
    from users_api.users.repository import CREATED_KEY_PATTERN

    foreign = PageTokens("another-stack-users", CREATED_KEY_PATTERN).encode(
        f"2026-01-01T00:00:00.000Z#{ANN}"
    )
    queries = {
        "token-forged-random": "next_token=eyJhIjoxfQ.AAAAAAAAAAAAAAAAAAAAAA",
        "token-edited-signature": f"next_token={payload}.{signature[::-1]}",
        "token-edited-payload": f"next_token={payload[:-2]}xx.{signature}",
        "token-truncated": f"next_token={token[: len(token) // 2]}",
        "token-other-stack": f"next_token={foreign}",
        "token-replayed-other-window": f"next_token={token}&created_after=2020-01-01",
        "token-600-chars": "next_token=" + "A" * 600,
        "token-dynamodb-key-json": "next_token=" + quote('{"user_id": {"S": "x"}}'),
    }
    cases = dict(CORPUS)
    cases.update({name: Case("GET", f"/users?limit=1&{q}") for name, q in queries.items()})
    assert set(cases) == set(ALL_CASES)
    return Corpus(cases, snapshot(front_stack))


def test_corpus_has_at_least_60_cases() -> None:
    print(f"\nhostile cases: {len(ALL_CASES)}")
    assert len(ALL_CASES) >= 60


@pytest.mark.parametrize("name", ALL_CASES)
def test_hostile_request_is_a_4xx_json_error(
    gateway: LocalGateway, corpus: Corpus, name: str
) -> None:
    status, headers, raw = send(gateway.url, corpus.cases[name])
    text = raw.decode("utf-8", "replace")
    assert 400 <= status < 500, f"{status} {text[:300]}"
    assert headers.get("content-type", "").startswith("application/json")
    body = json.loads(raw)
    assert isinstance(body, dict), text[:300]
    # Ours ({"error", "code", ...}) or API Gateway's own ({"message"}).
    assert ("error" in body and "code" in body) or set(body) == {"message"}, body
    assert "Traceback" not in text
    assert 'File "' not in text


def test_tables_are_byte_for_byte_unchanged_after_the_corpus(
    front_stack: Any, corpus: Corpus
) -> None:
    # Runs after the corpus (pytest keeps a module's order); the corpus fixture took `before`.
    assert corpus.before
    assert snapshot(front_stack) == corpus.before
