"""The pipeline's roles (bootstrap/iam.tf) run the stack's lifecycle with IAM enforced.

bootstrap/ is applied once, as the administrator of an account of its own (tests/conftest.py
`pipeline_account`, which tests/delivery/test_bootstrap.py reads back); then the default (dev) and
the prod (environments/prod.tfvars as written) configurations, under their real names, are
applied, re-planned and destroyed with the credentials of that environment's DEPLOY role, and
planned with the PLAN role's. The emulator
judges every request by the role's policy (resource-level for DynamoDB, IAM roles, STS, S3 and
SQS, action-level elsewhere: tools/localaws/emulator_iam.py), so a missing grant fails the apply,
plan or
destroy with the AccessDenied that names it.

What is shimmed, in the test only: the roles trust GitHub's OIDC provider, and the emulator
cannot play GitHub's token service, so each role's trust policy is extended for a moment with a
statement trusting the emulator's administrator, who assumes it with sts:AssumeRole; the original
trust policy is put back at once. The role's permissions are untouched. moto evaluates no
`Condition` of an Allow (aws:RequestTag, iam:PermissionsBoundary...): those narrowings are proven
by reading, not here. Permissions boundaries are evaluated: the function's role, created by the
deploy role under the pipeline's boundary, must still reach its tables and (prod) its key.

Every policy document the stacks render (the function's role and trust policy, the deploy, plan
and boundary policies, the key and topic policies) is linted with parliament: no finding unless
suppressed below with its reason.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from typing import Any

import pytest
from parliament import analyze_policy_string

from tests.conftest import EmulatorStack
from tools.localaws.emulator import ACCOUNT_ID, Emulator
from tools.localaws.emulator_iam import LAMBDA_SERVICE_KEY
from tools.localaws.stage import REPO, Stack, StackError

pytestmark = pytest.mark.slow

NAME = "users-api"  # the stacks' real name: the account is the pipeline's own
CONFIGURATIONS = {"dev": [], "prod": [REPO / "environments" / "prod.tfvars"]}
ADMINISTRATOR_ARN = f"arn:aws:iam::{ACCOUNT_ID}:user/test"

# parliament findings accepted: (resource type holding the document, issue, a text of the
# finding's detail) -> why. parliament lints identity policies; trust policies are resource
# policies, and its IAM database predates some of AWS's condition keys.
SUPPRESSED: dict[tuple[str, str, str], str] = {
    ("aws_iam_role", "MALFORMED", "neither Resource nor NotResource"): (
        "a role's trust policy is a resource policy: it names a Principal, never a Resource"
    ),
    ("aws_iam_role", "UNKNOWN_FEDERATION_SOURCE", "token.actions.githubusercontent.com"): (
        "GitHub's OIDC provider is the deploy and plan roles' purpose; parliament knows only "
        "Cognito, Amazon, Facebook and Google as federation sources"
    ),
    ("aws_kms_key", "RESOURCE_STAR", "kms:"): (
        "in a key policy, Resource '*' is the key the policy is attached to"
    ),
    ("aws_kms_key", "UNKNOWN_CONDITION_FOR_ACTION", "kms:EncryptionContext:aws:logs:arn"): (
        "CloudWatch Logs' documented key policy: kms:Describe* among the actions held to the "
        "log groups' encryption context"
    ),
    ("aws_kms_key", "MISMATCHED_TYPE", "ArnEquals requires"): (
        "CloudWatch Logs documents kms:EncryptionContext:aws:logs:arn with ArnEquals/ArnLike"
    ),
    ("aws_iam_role_policy", "UNKNOWN_CONDITION_FOR_ACTION", "kms:ResourceAliases"): (
        "AWS documents kms:ResourceAliases for kms:DescribeKey (2021); parliament's database "
        "is older"
    ),
    ("aws_iam_role_policy", "MISMATCHED_TYPE_BUT_USABLE", "StringEquals requires"): (
        "iam:PermissionsBoundary compared with StringEquals to the boundary's ARN, as AWS's "
        "own permissions-boundary examples do"
    ),
    ("aws_iam_role_policy", "RESOURCE_MISMATCH", "kms:CreateAlias"): (
        "an alias action is authorised on the alias and on its key: NameStackKey allows the "
        "alias by name, ManageAndUseStackKey the key by its tags; parliament reads each "
        "statement alone"
    ),
    ("aws_iam_role_policy", "RESOURCE_MISMATCH", "logs:DescribeLogGroups"): (
        "kept on log-group:* of the stack's region (CloudWatch Logs' permissions reference "
        "lists the log-group resource for it); parliament's database says '*'"
    ),
    ("aws_iam_role_policy", "RESOURCE_MISMATCH", "sns:GetSubscriptionAttributes"): (
        "subscription actions are kept on the stack's topic-name prefix (a subscription ARN "
        "is the topic's ARN plus an id); parliament's database says '*'"
    ),
}


@pytest.fixture
def emulator(pipeline_account: EmulatorStack) -> Emulator:
    """This module's emulator is the pipeline's account, not the session's shared one."""
    return pipeline_account.emulator


@pytest.fixture
def bootstrap(pipeline_account: EmulatorStack) -> dict[str, Any]:
    return {"outputs": pipeline_account.outputs, "stack": pipeline_account.stack}


def assume(emulator: Emulator, role_arn: str) -> dict[str, str]:
    """The role's credentials, through a trust statement for the administrator added only for
    the AssumeRole call (see the module docstring)."""
    iam = emulator.client("iam")
    role_name = role_arn.rsplit("/", 1)[-1]
    original = iam.get_role(RoleName=role_name)["Role"]["AssumeRolePolicyDocument"]
    original = json.loads(original) if isinstance(original, str) else original
    extended = json.loads(json.dumps(original))
    extended["Statement"].append(
        {
            "Sid": "TestOnlyAdministrator",
            "Effect": "Allow",
            "Principal": {"AWS": ADMINISTRATOR_ARN},
            "Action": "sts:AssumeRole",
        }
    )
    iam.update_assume_role_policy(RoleName=role_name, PolicyDocument=json.dumps(extended))
    try:
        credentials = emulator.client("sts").assume_role(
            RoleArn=role_arn, RoleSessionName="pytest-pipeline"
        )["Credentials"]
    finally:
        iam.update_assume_role_policy(RoleName=role_name, PolicyDocument=json.dumps(original))
    assert iam.get_role(RoleName=role_name)["Role"]["AssumeRolePolicyDocument"] == original
    return {
        "AWS_ACCESS_KEY_ID": credentials["AccessKeyId"],
        "AWS_SECRET_ACCESS_KEY": credentials["SecretAccessKey"],
        "AWS_SESSION_TOKEN": credentials["SessionToken"],
    }


@pytest.fixture(scope="module")
def pipeline(pipeline_account: EmulatorStack) -> Iterator[dict[str, Stack]]:
    """Both configurations applied with their deploy role's credentials."""
    emulator, outputs = pipeline_account.emulator, pipeline_account.outputs
    stacks: dict[str, Stack] = {}
    try:
        for environment, var_files in CONFIGURATIONS.items():
            stack = Stack(emulator.endpoint, name=f"pytest-{os.getpid()}-pipeline-{environment}")
            stacks[environment] = stack
            stack.use_credentials(assume(emulator, outputs["deploy_role_arns"][environment]))
            variables = {
                "name": NAME,
                "environment": environment,
                # What the pipeline passes: the deploy role creates roles only under it.
                "lambda_permissions_boundary_arn": outputs["function_permissions_boundary_arns"][
                    environment
                ],
            }
            try:
                stack.apply(variables, var_files)
            except StackError as error:
                pytest.fail(f"{environment} under its deploy role: {error}", pytrace=False)
        yield stacks
    finally:
        for stack in stacks.values():  # whatever a failed test left, as the administrator
            stack.use_credentials(None)
            try:
                stack.lift_deletion_protection()
                stack.destroy(refresh=False)
            except StackError as error:
                print(f"warning: cleaning up {stack.name} failed: {error}")
            finally:
                stack.remove()


@pytest.mark.parametrize("environment", list(CONFIGURATIONS))
def test_deploy_role_replans_with_no_changes(
    emulator: Emulator, bootstrap: dict[str, Any], pipeline: dict[str, Stack], environment: str
) -> None:
    stack = pipeline[environment]
    stack.use_credentials(assume(emulator, bootstrap["outputs"]["deploy_role_arns"][environment]))
    plan = stack.plan()
    assert plan.exit_code == 0, plan.changes


@pytest.mark.parametrize("environment", list(CONFIGURATIONS))
def test_plan_role_plans_with_no_changes(
    emulator: Emulator, bootstrap: dict[str, Any], pipeline: dict[str, Stack], environment: str
) -> None:
    stack = pipeline[environment]
    stack.use_credentials(assume(emulator, bootstrap["outputs"]["plan_role_arn"]))
    try:
        plan = stack.plan()
    except StackError as error:
        pytest.fail(f"{environment} under the plan role: {error}", pytrace=False)
    assert plan.exit_code == 0, plan.changes


def test_the_function_role_works_within_the_pipelines_boundary(
    emulator: Emulator, pipeline: dict[str, Stack]
) -> None:
    # A role the deploy role creates carries the function boundary (bootstrap/); on AWS what the
    # function may do is its policy AND the boundary, and the emulator evaluates both.
    import boto3

    for environment, stack in pipeline.items():
        outputs = stack.outputs()
        role = emulator.client("lambda").get_function(FunctionName=outputs["function_name"])[
            "Configuration"
        ]["Role"]
        sts = boto3.client(
            "sts",
            endpoint_url=emulator.endpoint,
            region_name="us-east-1",
            aws_access_key_id=LAMBDA_SERVICE_KEY,
            aws_secret_access_key=LAMBDA_SERVICE_KEY,
        )
        assumed = sts.assume_role(RoleArn=role, RoleSessionName=outputs["function_name"])
        session = boto3.Session(
            aws_access_key_id=assumed["Credentials"]["AccessKeyId"],
            aws_secret_access_key=assumed["Credentials"]["SecretAccessKey"],
            aws_session_token=assumed["Credentials"]["SessionToken"],
            region_name="us-east-1",
        )
        dynamodb = session.client("dynamodb", endpoint_url=emulator.endpoint)
        found = dynamodb.get_item(
            TableName=outputs["users_table_name"], Key={"user_id": {"S": "nobody"}}
        )
        assert "Item" not in found, environment
        if outputs.get("kms_key_arn"):  # prod: Lambda decrypts the environment as the role
            kms = session.client("kms", endpoint_url=emulator.endpoint)
            key = kms.generate_data_key(KeyId=outputs["kms_key_arn"], KeySpec="AES_256")
            plain = kms.decrypt(CiphertextBlob=key["CiphertextBlob"])["Plaintext"]
            assert plain == key["Plaintext"], environment


# Attributes that hold a policy document, by resource type.
POLICY_ATTRIBUTES = {
    "aws_iam_role": "assume_role_policy",
    "aws_iam_role_policy": "policy",
    "aws_iam_policy": "policy",
    "aws_kms_key": "policy",
    "aws_sns_topic_policy": "policy",
    "aws_s3_bucket_policy": "policy",
}


def rendered_policies(stack: Stack) -> dict[str, str]:
    """Every policy document in the stack's state, keyed by resource address."""
    documents = {}
    for address, attributes in stack.resources().items():
        attribute = POLICY_ATTRIBUTES.get(address.split(".", 1)[0], "")
        if attributes.get(attribute):
            documents[address] = attributes[attribute]
    return documents


def test_every_rendered_policy_passes_parliament(
    bootstrap: dict[str, Any], pipeline: dict[str, Stack]
) -> None:
    stacks = {"bootstrap": bootstrap["stack"], **pipeline}
    documents = {
        f"{config}: {address}": document
        for config, stack in stacks.items()
        for address, document in rendered_policies(stack).items()
    }
    kinds = {address.split(": ")[1].split(".")[0].split("[")[0] for address in documents}
    assert {"aws_iam_role", "aws_iam_role_policy", "aws_iam_policy", "aws_kms_key"} <= kinds
    findings = []
    for where, document in sorted(documents.items()):
        kind = where.split(": ")[1].split(".")[0]
        for finding in analyze_policy_string(document).findings:
            detail = json.dumps(finding.detail)
            if not any(
                (kind, finding.issue) == (k, issue) and text in detail
                for k, issue, text in SUPPRESSED
            ):
                findings.append(f"{where}: {finding.issue} {detail}")
    assert findings == [], "\n".join(findings)


@pytest.mark.parametrize("environment", list(CONFIGURATIONS))
def test_deploy_role_destroys_everything(
    emulator: Emulator, bootstrap: dict[str, Any], pipeline: dict[str, Stack], environment: str
) -> None:
    stack = pipeline[environment]
    stack.use_credentials(assume(emulator, bootstrap["outputs"]["deploy_role_arns"][environment]))
    try:
        stack.lift_deletion_protection()
        stack.destroy()
    except StackError as error:
        pytest.fail(f"{environment} under its deploy role: {error}", pytrace=False)
    assert stack.resources() == {}
    prefix = f"{NAME}-{environment}"
    assert not [
        name
        for name in emulator.client("dynamodb").list_tables()["TableNames"]
        if name.startswith(prefix)
    ]
