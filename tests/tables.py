"""The DynamoDB tables as the Terraform declares them, in `create_table` form.

Unit tests create these in moto's `mock_aws`; the infrastructure tests compare them with what
`terraform apply` created in the emulator, so a change to either side without the other fails.
"""

from __future__ import annotations

from typing import Any

EMAIL_INDEX = "email-index"

USERS_TABLE: dict[str, Any] = {
    "AttributeDefinitions": [
        {"AttributeName": "user_id", "AttributeType": "S"},
        {"AttributeName": "email", "AttributeType": "S"},
    ],
    "KeySchema": [{"AttributeName": "user_id", "KeyType": "HASH"}],
    "GlobalSecondaryIndexes": [
        {
            "IndexName": EMAIL_INDEX,
            "KeySchema": [{"AttributeName": "email", "KeyType": "HASH"}],
            "Projection": {"ProjectionType": "ALL"},
        }
    ],
    "BillingMode": "PAY_PER_REQUEST",
}

EMAILS_TABLE: dict[str, Any] = {
    "AttributeDefinitions": [{"AttributeName": "email", "AttributeType": "S"}],
    "KeySchema": [{"AttributeName": "email", "KeyType": "HASH"}],
    "BillingMode": "PAY_PER_REQUEST",
}


def create_tables(client: Any, users_table: str, emails_table: str) -> None:
    """Create both tables with `client` (a boto3 DynamoDB client)."""
    client.create_table(TableName=users_table, **USERS_TABLE)
    client.create_table(TableName=emails_table, **EMAILS_TABLE)
