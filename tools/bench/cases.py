"""What the bench sends: the function's environment, one stored user, and the events."""

from __future__ import annotations

import os
from typing import Any

from tools.events import http_api_event
from tools.route_match import most_specific

# The route table's paths (users_api.routes: importing it here would build the store before the
# bench sets its environment); tests/unit/test_gateway.py checks they are the router's.
ROUTE_PATHS = ("/hello", "/users", "/users/{user_id}", "/openapi.json")

USERS_TABLE = "users-bench-users"
EMAILS_TABLE = "users-bench-user-emails"
IDEMPOTENCY_TABLE = "users-bench-idempotency"
FUNCTION_ENV = {
    "USERS_TABLE": USERS_TABLE,
    "EMAILS_TABLE": EMAILS_TABLE,
    "IDEMPOTENCY_TABLE": IDEMPOTENCY_TABLE,
    "LOG_LEVEL": "INFO",
}
# The SDK's view: a region, fake credentials from the environment (no file or IMDS lookups).
SDK_ENV = {
    "AWS_REGION": "us-east-1",
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_ACCESS_KEY_ID": "bench",
    "AWS_SECRET_ACCESS_KEY": "bench",
    "AWS_EC2_METADATA_DISABLED": "true",
    "AWS_CONFIG_FILE": os.devnull,
    "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
}

USER_ID = "u-0001"
CREATED_AT = "2026-11-23T08:00:00.000Z"


def user_item(user_id: str) -> dict[str, Any]:
    """A stored user as the users table holds it (list shard and key included)."""
    return {
        "user_id": {"S": user_id},
        "name": {"S": "Ada Lovelace"},
        "email": {"S": f"{user_id}@example.com"},
        "created_at": {"S": CREATED_AT},
        "updated_at": {"S": CREATED_AT},
        "version": {"N": "3"},
        "list_shard": {"S": "0"},
        "created_key": {"S": f"{CREATED_AT}#{user_id}"},
        "request_token": {"S": "bench"},
    }


USER_ITEM = user_item(USER_ID)


def user_event(method: str, path: str, **kwargs: Any) -> dict[str, Any]:
    """An event for one of the API's routes, matched by the router's own matcher."""
    found = most_specific(ROUTE_PATHS, path)
    if found is None:
        raise ValueError(f"{path} is none of the API's paths {ROUTE_PATHS}")
    template, params = found
    route = f"{method} {template}"
    return http_api_event(method, path, route_key=route, path_params=params or None, **kwargs)


WARM_EVENTS: dict[str, dict[str, Any]] = {
    "get": user_event("GET", f"/users/{USER_ID}"),
    "create": user_event(
        "POST", "/users", json_body={"name": "Grace Hopper", "email": "grace@example.com"}
    ),
    "update": user_event(
        "PUT",
        f"/users/{USER_ID}",
        json_body={"name": "Ada King", "email": f"{USER_ID}@example.com"},
    ),
    "list": user_event("GET", "/users", query={"limit": "10"}),
}
COLD_READ = user_event("GET", "/users", query={"id": USER_ID})
# The first request that builds the pydantic models.
COLD_WRITE = user_event(
    "POST", "/users", json_body={"user_id": "c1", "name": "Cold", "email": "c@x.io"}
)
