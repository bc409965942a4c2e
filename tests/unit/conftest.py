"""Unit-test fixtures: moto's `mock_aws` with the Terraform's tables, and a payload-2.0 client."""

from __future__ import annotations

import dataclasses
import json
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws

from tests.contract import contract_for
from tests.tables import LIST_INDEX, TABLES, create_tables, hash_key
from tools.events import http_api_event
from tools.localaws.emulator_shims import dynamodb_atomic_writes
from tools.roundtrips import counting_calls

EVENTS = Path(__file__).resolve().parent.parent / "events"
# Every table of the tables map (tests/tables.py), named as a test stack would name it.
TABLE_NAMES = {key: f"users-test-{key}" for key in TABLES}
USERS_TABLE = TABLE_NAMES["users"]
EMAILS_TABLE = TABLE_NAMES["emails"]
IDEMPOTENCY_TABLE = TABLE_NAMES["idempotency"]

# The function's environment, as Terraform sets it (the region and credentials are the SDK's).
os.environ.update(
    {
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        **{f"{key.upper()}_TABLE": name for key, name in TABLE_NAMES.items()},
        "LIST_INDEX": LIST_INDEX,
    }
)
for _name in ("AUTHORIZATION", "ADMIN_SCOPE", "PROFILE_READS"):
    os.environ.pop(_name, None)  # the open API unless a test says otherwise
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
    request_id: str = "req-1",
    **kwargs: Any,
) -> dict[str, Any]:
    """tools.events.http_api_event with the tests' conveniences: `body` is sent as JSON,
    `raw_body` as text (base64-encoded in the event with `base64_body`)."""
    return http_api_event(
        method,
        path,
        json_body=body,
        body=raw_body,
        base64_body=base64_body,
        request_id=request_id,
        **kwargs,
    )


@dataclass
class Result:
    status: int
    headers: dict[str, str]
    body: Any
    raw: dict[str, Any] = field(repr=False)


class Api:
    """Calls the handler the way API Gateway does and decodes the payload-2.0 response.

    Every response is checked against the OpenAPI document the function serves (tests/contract.py,
    for the authorization mode `mode()` returns): an undocumented status, header or body fails
    the test that saw it.
    """

    def __init__(
        self,
        handler: Callable[[dict[str, Any], Any], dict[str, Any]],
        mode: Callable[[], str] = lambda: "NONE",
    ) -> None:
        self._handler = handler
        self._mode = mode

    def send(self, event: dict[str, Any]) -> Result:
        response = self._handler(event, None)
        assert set(response) >= {"statusCode", "headers", "body"}
        self._check_contract(event, response)
        text = response["body"]
        return Result(
            status=response["statusCode"],
            headers=response["headers"],
            body=json.loads(text) if text else None,
            raw=response,
        )

    def __call__(self, method: str, path: str, **kwargs: Any) -> Result:
        return self.send(make_event(method, path, **kwargs))

    def _check_contract(self, event: dict[str, Any], response: dict[str, Any]) -> None:
        method = ((event.get("requestContext") or {}).get("http") or {}).get("method")
        if not isinstance(method, str) or not method:  # not an HTTP API event: no operation
            violations = contract_for(self._mode()).violations(
                "GET", "/hello", response["statusCode"], response["headers"], response["body"]
            )
            assert response["statusCode"] == 400, response
        else:
            path = str(event.get("rawPath") or "/")
            violations = contract_for(self._mode()).violations(
                method, path, response["statusCode"], response["headers"], response["body"]
            )
        assert not violations, "response violates the OpenAPI document:\n" + "\n".join(violations)


@pytest.fixture(scope="package")
def _mocked_tables() -> Iterator[Any]:
    """One `mock_aws` for the unit tests, with the tables as Terraform declares them."""
    with mock_aws():
        client = boto3.client("dynamodb")
        create_tables(client, TABLE_NAMES)
        yield client


@pytest.fixture
def dynamodb(_mocked_tables: Any) -> Any:
    """The mocked DynamoDB client, with every table emptied for this test."""
    client = _mocked_tables
    for table, key in ((TABLE_NAMES[k], hash_key(k)) for k in TABLES):
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
def use_auth(app: Any, monkeypatch: pytest.MonkeyPatch) -> Callable[..., None]:
    """Switch the handler's authorization settings (users_api.auth.Settings fields) for a test."""
    from users_api import auth

    def use(**settings: str) -> None:
        services = dataclasses.replace(app.SERVICES, auth=auth.Settings(**settings))
        monkeypatch.setattr(app, "SERVICES", services)

    return use


@pytest.fixture
def api(app: Any) -> Api:
    return Api(app.handler, lambda: str(app.SERVICES.auth.mode))


@pytest.fixture
def calls(app: Any) -> Iterator[list[str]]:
    """The DynamoDB operations the handler's client makes, in order (tools/roundtrips.py, the
    counter the bench uses too)."""
    with counting_calls(app.SERVICES.db.client) as made:
        yield made


def stored_users(client: Any) -> dict[str, dict[str, Any]]:
    items = client.scan(TableName=USERS_TABLE, ConsistentRead=True)["Items"]
    return {item["user_id"]["S"]: item for item in items}


def stored_emails(client: Any) -> dict[str, str]:
    items = client.scan(TableName=EMAILS_TABLE, ConsistentRead=True)["Items"]
    return {item["email"]["S"]: item["user_id"]["S"] for item in items}


@pytest.fixture
def atomic_dynamodb(dynamodb: Any) -> Iterator[None]:
    """Make moto apply each write request atomically, as DynamoDB does (the emulator's own shim,
    tools/localaws/emulator_shims.py `dynamodb_atomic_writes`, installed in this process).

    moto's transactions check their conditions and write without a lock, so two concurrent
    requests could interleave in ways DynamoDB never allows. The race tests are about *our*
    conditions, so they run with moto's writes serialised.
    """
    undo = dynamodb_atomic_writes()
    try:
        yield
    finally:
        undo()
