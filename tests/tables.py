"""The DynamoDB tables as the Terraform declares them (main.tf's `tables` map), in `create_table`
form, keyed as that map is.

Unit tests create these in moto's `mock_aws`; the infrastructure tests compare them with what
`terraform apply` created in the emulator (every entry of the `tables` output, and no other), so
a change to either side without the other fails.
"""

from __future__ import annotations

from typing import Any

LIST_INDEX = "created-index"

USERS_TABLE: dict[str, Any] = {
    "AttributeDefinitions": [
        {"AttributeName": "user_id", "AttributeType": "S"},
        {"AttributeName": "list_shard", "AttributeType": "S"},
        {"AttributeName": "created_key", "AttributeType": "S"},
    ],
    "KeySchema": [{"AttributeName": "user_id", "KeyType": "HASH"}],
    "GlobalSecondaryIndexes": [
        {
            "IndexName": LIST_INDEX,
            "KeySchema": [
                {"AttributeName": "list_shard", "KeyType": "HASH"},
                {"AttributeName": "created_key", "KeyType": "RANGE"},
            ],
            "Projection": {"ProjectionType": "KEYS_ONLY"},
        }
    ],
    "BillingMode": "PAY_PER_REQUEST",
}

EMAILS_TABLE: dict[str, Any] = {
    "AttributeDefinitions": [{"AttributeName": "email", "AttributeType": "S"}],
    "KeySchema": [{"AttributeName": "email", "KeyType": "HASH"}],
    "BillingMode": "PAY_PER_REQUEST",
}

IDEMPOTENCY_TABLE: dict[str, Any] = {
    "AttributeDefinitions": [{"AttributeName": "idempotency_key", "AttributeType": "S"}],
    "KeySchema": [{"AttributeName": "idempotency_key", "KeyType": "HASH"}],
    "BillingMode": "PAY_PER_REQUEST",
}
IDEMPOTENCY_TTL_ATTRIBUTE = "expires_at"


# main.tf's tables map key -> the table; its TTL attribute, where it has one.
TABLES: dict[str, dict[str, Any]] = {
    "users": USERS_TABLE,
    "emails": EMAILS_TABLE,
    "idempotency": IDEMPOTENCY_TABLE,
}
TTL_ATTRIBUTES = {"idempotency": IDEMPOTENCY_TTL_ATTRIBUTE}


def create_tables(client: Any, users_table: str, emails_table: str, idempotency_table: str) -> None:
    """Create the three tables with `client` (a boto3 DynamoDB client)."""
    client.create_table(TableName=users_table, **USERS_TABLE)
    client.create_table(TableName=emails_table, **EMAILS_TABLE)
    client.create_table(TableName=idempotency_table, **IDEMPOTENCY_TABLE)
    client.update_time_to_live(
        TableName=idempotency_table,
        TimeToLiveSpecification={"Enabled": True, "AttributeName": IDEMPOTENCY_TTL_ATTRIBUTE},
    )
