"""Unit-test fixtures: moto's `mock_aws` with the Terraform's tables, and a payload-2.0 client."""

from __future__ import annotations

import base64
import copy
import json
import os
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import boto3
import pytest
from moto import mock_aws

from tests.tables import EMAIL_INDEX, create_tables

EVENTS = Path(__file__).resolve().parent.parent / "events"
USERS_TABLE = "users-test-users"
EMAILS_TABLE = "users-test-user-emails"

# The function's environment, as Terraform sets it (the region and credentials are the SDK's).
os.environ.update(
    {
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "USERS_TABLE": USERS_TABLE,
        "EMAILS_TABLE": EMAILS_TABLE,
        "EMAIL_INDEX": EMAIL_INDEX,
    }
)
os.environ.pop("AWS_ENDPOINT_URL", None)


def load_event(name: str) -> dict[str, Any]:
    event: dict[str, Any] = json.loads((EVENTS / f"{name}.json").read_text())
    return event


def make_event(
    method: str,
    path: str,
    *,
    body: Any = None,
    raw_body: str | None = None,
    base64_body: bool = False,
    query: list[tuple[str, str]] | dict[str, str] | None = None,
    headers: dict[str, str] | None = None,
    route_key: str = "$default",
    path_params: dict[str, str] | None = None,
    request_id: str = "req-1",
) -> dict[str, Any]:
    """A payload-2.0 event shaped like API Gateway's, for any request."""
    event = copy.deepcopy(load_event("create_user"))
    pairs = list(query.items()) if isinstance(query, dict) else list(query or [])
    joined: dict[str, str] = {}
    for key, value in pairs:
        joined[key] = f"{joined[key]},{value}" if key in joined else value
    event["routeKey"] = event["requestContext"]["routeKey"] = route_key
    event["rawPath"] = event["requestContext"]["http"]["path"] = path
    event["requestContext"]["http"]["method"] = method
    event["requestContext"]["requestId"] = request_id
    event["rawQueryString"] = urlencode(pairs)
    if joined:
        event["queryStringParameters"] = joined
    event["headers"] = {
        "host": event["headers"]["host"],
        **{k.lower(): v for k, v in (headers or {}).items()},
    }
    if path_params:
        event["pathParameters"] = path_params
    text = raw_body if raw_body is not None else (json.dumps(body) if body is not None else None)
    if text is not None and base64_body:
        text = base64.b64encode(text.encode()).decode()
    event["body"] = text
    event["isBase64Encoded"] = base64_body
    if text is None:
        del event["body"]
    return event


@dataclass
class Result:
    status: int
    headers: dict[str, str]
    body: Any
    raw: dict[str, Any] = field(repr=False)


class Api:
    """Calls the handler the way API Gateway does and decodes the payload-2.0 response."""

    def __init__(self, handler: Callable[[dict[str, Any], Any], dict[str, Any]]) -> None:
        self._handler = handler

    def send(self, event: dict[str, Any]) -> Result:
        response = self._handler(event, None)
        assert set(response) >= {"statusCode", "headers", "body"}
        text = response["body"]
        return Result(
            status=response["statusCode"],
            headers=response["headers"],
            body=json.loads(text) if text else None,
            raw=response,
        )

    def __call__(self, method: str, path: str, **kwargs: Any) -> Result:
        return self.send(make_event(method, path, **kwargs))


@pytest.fixture(scope="package")
def _mocked_tables() -> Iterator[Any]:
    """One `mock_aws` for the unit tests, with the tables as Terraform declares them."""
    with mock_aws():
        client = boto3.client("dynamodb")
        create_tables(client, USERS_TABLE, EMAILS_TABLE)
        yield client


@pytest.fixture
def dynamodb(_mocked_tables: Any) -> Any:
    """The mocked DynamoDB client, with both tables emptied for this test."""
    client = _mocked_tables
    for table, key in ((USERS_TABLE, "user_id"), (EMAILS_TABLE, "email")):
        for item in client.scan(TableName=table, ProjectionExpression=key)["Items"]:
            client.delete_item(TableName=table, Key={key: item[key]})
    return client


@pytest.fixture
def app(dynamodb: Any, monkeypatch: pytest.MonkeyPatch) -> Any:
    """The handler module with its services (client, store) built inside the mock."""
    from users_api import app as module

    monkeypatch.setattr(module, "SERVICES", module.build_services())
    return module


@pytest.fixture
def api(app: Any) -> Api:
    return Api(app.handler)


@pytest.fixture
def calls(app: Any) -> list[str]:
    """The DynamoDB operations the handler's client makes, in order."""
    made: list[str] = []
    client = app.SERVICES.store._client
    client.meta.events.register("before-call.dynamodb", lambda model, **_: made.append(model.name))
    return made


def stored_users(client: Any) -> dict[str, dict[str, Any]]:
    items = client.scan(TableName=USERS_TABLE, ConsistentRead=True)["Items"]
    return {item["user_id"]["S"]: item for item in items}


def stored_emails(client: Any) -> dict[str, str]:
    items = client.scan(TableName=EMAILS_TABLE, ConsistentRead=True)["Items"]
    return {item["email"]["S"]: item["user_id"]["S"] for item in items}


@pytest.fixture
def atomic_dynamodb(dynamodb: Any) -> Iterator[None]:
    """Make moto apply each write request atomically, as DynamoDB does.

    moto's transactions snapshot the tables and restore them on a failed condition without a
    lock, so two concurrent requests could interleave in ways DynamoDB never allows. The race
    tests are about *our* conditions, so they run with moto's writes serialised.
    """
    from moto.dynamodb.models import DynamoDBBackend

    lock = threading.RLock()
    originals = {}
    for name in ("put_item", "update_item", "delete_item", "transact_write_items", "get_item"):
        original = getattr(DynamoDBBackend, name)
        originals[name] = original

        def locked(self: Any, *args: Any, _original: Any = original, **kwargs: Any) -> Any:
            with lock:
                return _original(self, *args, **kwargs)

        setattr(DynamoDBBackend, name, locked)
    try:
        yield
    finally:
        for name, original in originals.items():
            setattr(DynamoDBBackend, name, original)
