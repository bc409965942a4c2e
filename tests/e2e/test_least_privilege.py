"""Least privilege proven by running: the emulator enforces IAM and the local runtime runs the
function with its execution role's credentials (tools/localaws/emulator_iam.py,
tools/localaws/runtime.py), so every
DynamoDB call the handler makes is judged by the role's policy from iam.tf, table by table.

The role and its policies are read and changed through the IAM API on the applied stack (no
Terraform addresses, no re-apply); every change is undone before the test ends.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from typing import Any

import botocore.exceptions
import pytest

from tests.e2e.conftest import serve_stack
from tests.e2e.test_local_stack import Client
from tools.localaws.gateway import LocalGateway

pytestmark = pytest.mark.slow

# Used by the Lambda service and its runtime, not by the handler's own calls: logs go to the
# local runtime's log file, the CMK and X-Ray are off in this configuration.
NOT_CALLED_BY_THE_HANDLER = ("logs:", "kms:", "xray:")


@pytest.fixture(scope="module")
def gateway(emulator_stack: Any) -> Iterator[LocalGateway]:
    with serve_stack(emulator_stack, max_workers=2) as local:
        yield local


@pytest.fixture
def client(gateway: LocalGateway) -> Client:
    return Client(gateway.url)


@pytest.fixture(scope="module")
def role_name(emulator_stack: Any) -> str:
    function = emulator_stack.client("lambda").get_function(
        FunctionName=emulator_stack.outputs["function_name"]
    )
    return str(function["Configuration"]["Role"].rsplit("/", 1)[-1])


def _role_policies(iam: Any, role: str) -> dict[str, dict[str, Any]]:
    names = iam.list_role_policies(RoleName=role)["PolicyNames"]
    return {
        name: _document(iam.get_role_policy(RoleName=role, PolicyName=name)["PolicyDocument"])
        for name in names
    }


def _document(document: Any) -> dict[str, Any]:
    return json.loads(document) if isinstance(document, str) else dict(document)


def _scan(dynamodb: Any, table: str) -> list[dict[str, Any]]:
    return list(dynamodb.scan(TableName=table, ConsistentRead=True)["Items"])


def _stored(emulator_stack: Any) -> dict[str, list[dict[str, Any]]]:
    dynamodb = emulator_stack.client("dynamodb")
    outputs = emulator_stack.outputs
    return {
        table: _scan(dynamodb, outputs[f"{table}_table_name"])
        for table in ("users", "emails", "idempotency")
    }


def test_unknown_access_keys_are_refused(emulator_stack: Any) -> None:
    import boto3

    stranger = boto3.client(
        "dynamodb",
        endpoint_url=emulator_stack.endpoint,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    with pytest.raises(botocore.exceptions.ClientError) as refused:
        stranger.list_tables()
    assert refused.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403
    assert "InvalidClientTokenId" in str(refused.value)
    # The documented credentials are the emulator's administrator.
    assert (
        emulator_stack.outputs["users_table_name"]
        in (emulator_stack.client("dynamodb").list_tables()["TableNames"])
    )


def test_only_the_lambda_service_may_assume_the_execution_role(
    emulator_stack: Any, role_name: str
) -> None:
    # The Lambda service may assume the role (its trust policy names lambda.amazonaws.com); a
    # person's administrator may not, as on AWS.
    with pytest.raises(botocore.exceptions.ClientError) as refused:
        emulator_stack.client("sts").assume_role(
            RoleArn=f"arn:aws:iam::123456789012:role/{role_name}", RoleSessionName="person"
        )
    assert refused.value.response["Error"]["Code"] == "AccessDenied"


def test_an_explicit_deny_on_the_role_turns_writes_into_clean_5xx_with_nothing_written(
    emulator_stack: Any, role_name: str, client: Client
) -> None:
    iam = emulator_stack.client("iam")
    emails_arn = emulator_stack.outputs["emails_table_arn"]
    deny = {
        "Version": "2012-10-17",
        "Statement": [
            {"Sid": "Test", "Effect": "Deny", "Action": "dynamodb:PutItem", "Resource": emails_arn}
        ],
    }
    email = f"deny-{uuid.uuid4().hex[:10]}@example.com"
    body = {"name": "Denied", "email": email}
    before = _stored(emulator_stack)
    iam.put_role_policy(RoleName=role_name, PolicyName="test-deny", PolicyDocument=json.dumps(deny))
    try:
        plain = client.request("POST", "/users", body)
        keyed = client.request("POST", "/users", body, headers={"Idempotency-Key": email})
        read = client.request("GET", "/users?limit=1")
    finally:
        iam.delete_role_policy(RoleName=role_name, PolicyName="test-deny")

    for reply in (plain, keyed):
        assert 500 <= reply.status < 600, reply.body
        assert reply.headers["content-type"].startswith("application/json")
        assert reply.json()["code"] == "internal_error"
        assert "AccessDenied" not in reply.body.decode()  # nothing of AWS's answer leaks
    assert read.status == 200  # only the denied action fails
    assert _stored(emulator_stack) == before  # no user, no email claim, no idempotency record

    # The same request succeeds once the Deny is gone: the Deny was the reason.
    allowed = client.request("POST", "/users", body, headers={"Idempotency-Key": email})
    assert allowed.status == 201, allowed.body


def _scenario(client: Client) -> list[tuple[str, int]]:
    """Every route the function serves, in an order that touches every table and index."""
    tag = uuid.uuid4().hex[:10]
    user_id, other_id = f"lp-{tag}", f"lp2-{tag}"
    email, other, moved = (f"{n}-{tag}@example.com" for n in ("lp", "lp2", "lp3"))
    merge = {"Content-Type": "application/merge-patch+json"}
    steps: list[tuple[str, int]] = []

    def step(name: str, method: str, path: str, body: Any = None, **headers: str) -> None:
        data = None if body is None else json.dumps(body).encode()
        reply = client.request(method, path, raw=data, headers=headers or None)
        steps.append((name, reply.status))

    first = {"user_id": user_id, "name": "A", "email": email}
    step("create", "POST", "/users", first, **{"Idempotency-Key": f"a-{tag}"})
    step("replay", "POST", "/users", first, **{"Idempotency-Key": f"a-{tag}"})
    taken = {"user_id": other_id, "name": "B", "email": email}
    step("taken", "POST", "/users", taken, **{"Idempotency-Key": f"b-{tag}"})
    free = {**taken, "email": other}  # the failed create released its key
    step("key released", "POST", "/users", free, **{"Idempotency-Key": f"b-{tag}"})
    step("get", "GET", f"/users/{user_id}")
    step("by email", "GET", f"/users?email={email}")
    step("by id", "GET", f"/users?id={user_id}")
    step("list", "GET", "/users?limit=2")
    step("rename", "PATCH", f"/users/{user_id}", {"name": "C"}, **merge)
    step("move email", "PATCH", f"/users/{user_id}", {"email": moved}, **merge)
    step("replace", "PUT", f"/users/{other_id}", {"name": "D", "email": other}, **{
        "Content-Type": "application/json"})  # fmt: skip
    step("delete", "DELETE", f"/users/{user_id}")
    step("gone", "GET", f"/users/{user_id}")
    return steps


def test_removing_any_granted_action_makes_some_request_fail(
    emulator_stack: Any, role_name: str, client: Client
) -> None:
    iam = emulator_stack.client("iam")
    policies = _role_policies(iam, role_name)
    baseline = _scenario(client)
    assert all(status < 500 for _, status in baseline), baseline
    assert [name for name, status in baseline if status >= 300] == ["taken", "gone"], baseline

    grants = [
        (policy, index, action)
        for policy, document in policies.items()
        for index, statement in enumerate(document["Statement"])
        if statement["Effect"] == "Allow"
        for action in _as_list(statement["Action"])
        if not action.startswith(NOT_CALLED_BY_THE_HANDLER)
    ]
    assert len(grants) >= 10, grants  # every table's actions, not a vacuous loop

    unneeded = []
    try:
        for policy, index, action in grants:
            narrowed = json.loads(json.dumps(policies[policy]))
            statement = narrowed["Statement"][index]
            kept = [a for a in _as_list(statement["Action"]) if a != action]
            if kept:
                statement["Action"] = kept
            else:
                del narrowed["Statement"][index]
            iam.put_role_policy(
                RoleName=role_name, PolicyName=policy, PolicyDocument=json.dumps(narrowed)
            )
            run = _scenario(client)
            if run == baseline:
                sid = policies[policy]["Statement"][index].get("Sid", index)
                unneeded.append(f"{policy}/{sid}: {action}")
    finally:
        for policy, document in policies.items():
            iam.put_role_policy(
                RoleName=role_name, PolicyName=policy, PolicyDocument=json.dumps(document)
            )
    assert _role_policies(iam, role_name) == policies
    assert unneeded == [], f"granted but no request needs it: {unneeded}"


def _as_list(value: Any) -> list[str]:
    return [value] if isinstance(value, str) else list(value)
