"""DynamoDB round trips per request, counted by tools.roundtrips against moto's mock_aws with the
Terraform's tables; each case names the fewest calls its operation allows.

Run by the bench in a child process (`python -m tools.bench.trips`, PYTHONPATH = lambda/ and the
repository), which prints one JSON line.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from typing import Any

from tools.bench.cases import (
    EMAILS_TABLE,
    FUNCTION_ENV,
    IDEMPOTENCY_TABLE,
    SDK_ENV,
    USERS_TABLE,
    user_event,
)
from tools.roundtrips import counting_calls
from users_api.users.listing import LIST_SHARDS


@dataclass(frozen=True)
class TripCase:
    label: str
    method: str
    path: str
    minimum: int  # the fewest round trips the operation allows
    why: str = ""
    query: dict[str, str] | None = None
    body: Any = None


TRIP_CASES = [
    TripCase("POST /users", "POST", "/users", 1, body={"user_id": "03", "name": "N"}),
    TripCase(
        "POST /users (with email)",
        "POST",
        "/users",
        1,
        body={"user_id": "04", "name": "N", "email": "n@example.com"},
    ),
    TripCase("GET /users/{user_id}", "GET", "/users/01", 1),
    TripCase("GET /users?id=", "GET", "/users", 1, query={"id": "01"}),
    TripCase(
        "GET /users?email=",
        "GET",
        "/users",
        2,
        "the address's record, then the user, both consistent",
        query={"email": "joy@example.com"},
    ),
    TripCase(
        "GET /users (list)",
        "GET",
        "/users",
        LIST_SHARDS + 1,
        "one query per list shard, in parallel, then one BatchGetItem",
        query={"limit": "10"},
    ),
    TripCase(
        "PUT /users/{user_id} (email kept)",
        "PUT",
        "/users/01",
        1,
        body={"name": "J", "email": "joy@example.com"},
    ),
    TripCase("PATCH /users/{user_id} (name)", "PATCH", "/users/01", 1, body={"name": "Joy"}),
    TripCase(
        "PUT /users/{user_id} (email changes)",
        "PUT",
        "/users/01",
        2,
        "the old address must be read",
        body={"name": "J", "email": "new@example.com"},
    ),
    TripCase(
        "PATCH /users/{user_id} (email added)",
        "PATCH",
        "/users/02",
        2,
        "an old address is unknown until read",
        body={"email": "ann@example.com"},
    ),
    TripCase("DELETE /users/{user_id} (no email)", "DELETE", "/users/05", 1),
    TripCase(
        "DELETE /users/{user_id} (with email)", "DELETE", "/users/01", 2, "its address must be read"
    ),
    TripCase("GET /hello", "GET", "/hello", 0),
]
SEEDS = [
    {"user_id": "01", "name": "Joy", "email": "joy@example.com"},
    {"user_id": "02", "name": "Ann"},
    {"user_id": "05", "name": "Eve"},
]


def count_round_trips(cases: list[TripCase] = TRIP_CASES) -> list[dict[str, Any]]:
    """Each case's status and DynamoDB operations, against mock_aws (nothing leaves the process).

    The environment and the function's SERVICES are restored afterwards.
    """
    import boto3
    from moto import mock_aws

    from tests.tables import create_tables

    saved_env = dict(os.environ)
    for key in ("AWS_ENDPOINT_URL", "AWS_PROFILE"):
        os.environ.pop(key, None)
    os.environ.update({**SDK_ENV, **FUNCTION_ENV})
    from users_api import app

    saved_services = app.SERVICES
    try:
        with mock_aws():
            create_tables(boto3.client("dynamodb"), USERS_TABLE, EMAILS_TABLE, IDEMPOTENCY_TABLE)
            app.SERVICES = app.build_services()
            for body in SEEDS:
                app.handler(user_event("POST", "/users", json_body=body), None)
            return [_count(app, case) for case in cases]
    finally:
        app.SERVICES = saved_services
        os.environ.clear()
        os.environ.update(saved_env)


def _count(app: Any, case: TripCase) -> dict[str, Any]:
    event = user_event(case.method, case.path, query=case.query, json_body=case.body)
    with counting_calls(app.SERVICES.db.client) as calls:
        status = app.handler(event, None)["statusCode"]
    return {
        "case": case.label,
        "status": status,
        "operations": calls,
        "round_trips": len(calls),
        "minimum": case.minimum,
        "why": case.why,
    }


if __name__ == "__main__":
    print(json.dumps(count_round_trips()))
