"""The DynamoDB tables as the Terraform declares them, in `create_table` form, read from the one
place they are declared: main.tf's `tables` map (`local.tables`), through the one HCL reader
(tools/hcl.py), and keyed as that map is.

Unit tests create these in moto's `mock_aws`; the infrastructure tests compare them with what
`terraform apply` created in the emulator (every entry of the `tables` output, and no other), so
Terraform's resource block and this reading of the map are held to each other.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tools import hcl

MAIN_TF = Path(__file__).resolve().parent.parent / "main.tf"


def _declared() -> dict[str, dict[str, Any]]:
    """main.tf's local.tables as plain values (its entries are literals)."""
    [tables] = [block["tables"] for block in hcl.load(MAIN_TF)["locals"] if "tables" in block]
    declared: dict[str, dict[str, Any]] = hcl.value(tables)
    return declared


def _create_table(entry: dict[str, Any]) -> dict[str, Any]:
    def key_schema(hash_key: str, range_key: str | None) -> list[dict[str, str]]:
        schema = [{"AttributeName": hash_key, "KeyType": "HASH"}]
        if range_key is not None:
            schema.append({"AttributeName": range_key, "KeyType": "RANGE"})
        return schema

    spec: dict[str, Any] = {
        "AttributeDefinitions": [
            {"AttributeName": name, "AttributeType": kind}
            for name, kind in entry["attributes"].items()
        ],
        "KeySchema": key_schema(entry["hash_key"], entry["range_key"]),
        "BillingMode": "PAY_PER_REQUEST",
    }
    if entry["indexes"]:
        spec["GlobalSecondaryIndexes"] = [
            {
                "IndexName": name,
                "KeySchema": key_schema(index["hash_key"], index["range_key"]),
                "Projection": {"ProjectionType": index["projection_type"]},
            }
            for name, index in entry["indexes"].items()
        ]
    return spec


DECLARED = _declared()
# The map's key -> the table in create_table form; its TTL attribute, where it has one.
TABLES: dict[str, dict[str, Any]] = {key: _create_table(e) for key, e in DECLARED.items()}
TTL_ATTRIBUTES: dict[str, str] = {
    key: entry["ttl_attribute"] for key, entry in DECLARED.items() if entry["ttl_attribute"]
}

USERS_TABLE = TABLES["users"]
EMAILS_TABLE = TABLES["emails"]
IDEMPOTENCY_TABLE = TABLES["idempotency"]
[LIST_INDEX] = DECLARED["users"]["indexes"]
IDEMPOTENCY_TTL_ATTRIBUTE = TTL_ATTRIBUTES["idempotency"]


def create_table(client: Any, key: str, name: str) -> None:
    """Create the map's table `key` as `name` with `client` (a boto3 DynamoDB client), TTL on."""
    client.create_table(TableName=name, **TABLES[key])
    if key in TTL_ATTRIBUTES:
        client.update_time_to_live(
            TableName=name,
            TimeToLiveSpecification={"Enabled": True, "AttributeName": TTL_ATTRIBUTES[key]},
        )


def create_tables(client: Any, names: dict[str, str]) -> None:
    """Create every table of the map with `client`, named by `names` (the map's key -> name)."""
    for key in TABLES:
        create_table(client, key, names[key])


def hash_key(key: str) -> str:
    """The hash key attribute of the map's table `key`."""
    return str(DECLARED[key]["hash_key"])
