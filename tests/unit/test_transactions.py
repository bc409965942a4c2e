"""Transactions keep one ClientRequestToken across every attempt, the store's own included.

botocore's standard retry mode repeats a TransactWriteItems that met
`TransactionInProgressException` with the same token; when its attempts run out while the first
one is still committing, the gateway (users_api.dynamo) retries within the request's deadline.
DynamoDB answers a repeat of a committed transaction with the same token with success; with a
new token it would run the transaction again, fail its conditions against its own write, and the
caller would get 409 `user_exists` for the user it just created. moto never raises this error
and ignores tokens, so the fault and DynamoDB's token rule are played at the SDK boundary here.
"""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.unit.conftest import Api, stored_emails, stored_users


class InProgressOnce:
    """TransactWriteItems that commits its first call but answers it with
    TransactionInProgressException (the SDK's attempts ran out), and answers a repeat of a
    committed token with success without applying it again, as DynamoDB does."""

    def __init__(self, real: Any) -> None:
        self.real = real
        self.tokens: list[str] = []
        self.committed: set[str] = set()

    def __call__(self, **kwargs: Any) -> dict[str, Any]:
        token = kwargs["ClientRequestToken"]
        self.tokens.append(token)
        if token in self.committed:
            return {}
        response: dict[str, Any] = self.real(**kwargs)
        self.committed.add(token)
        if len(self.tokens) == 1:
            raise ClientError(
                {
                    "Error": {"Code": "TransactionInProgressException", "Message": "in progress"},
                    "ResponseMetadata": {"HTTPStatusCode": 400, "RetryAttempts": 2},
                },
                "TransactWriteItems",
            )
        return response


@pytest.fixture
def in_progress(app: Any, monkeypatch: pytest.MonkeyPatch) -> InProgressOnce:
    client = app.SERVICES.db.client
    fault = InProgressOnce(client.transact_write_items)
    monkeypatch.setattr(client, "transact_write_items", fault)
    return fault


def test_a_create_whose_transaction_outlasts_the_sdk_retries_is_201_not_409(
    api: Api, dynamodb: Any, in_progress: InProgressOnce
) -> None:
    created = api("POST", "/users", body={"user_id": "ann", "name": "Ann", "email": "a@x.io"})

    assert created.status == 201, created.body
    assert created.body["user_id"] == "ann"
    assert len(in_progress.tokens) == 2
    assert in_progress.tokens[0] == in_progress.tokens[1]
    assert set(stored_users(dynamodb)) == {"ann"}
    assert stored_emails(dynamodb) == {"a@x.io": "ann"}


def test_an_email_change_whose_transaction_outlasts_the_sdk_retries_applies_once(
    api: Api, dynamodb: Any, app: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    api("POST", "/users", body={"user_id": "bob", "name": "Bob", "email": "b@x.io"})
    client = app.SERVICES.db.client
    fault = InProgressOnce(client.transact_write_items)
    monkeypatch.setattr(client, "transact_write_items", fault)

    changed = api("PATCH", "/users/bob", body={"email": "new@x.io"}, headers={"if-match": '"1"'})

    assert changed.status == 200, changed.body
    assert changed.body["version"] == 2
    assert fault.tokens[0] == fault.tokens[1]
    assert stored_users(dynamodb)["bob"]["version"] == {"N": "2"}
    assert stored_emails(dynamodb) == {"new@x.io": "bob"}
