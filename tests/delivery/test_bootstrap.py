"""bootstrap/ applied to an account of its own (tests/conftest.py `pipeline_account`, which the
pipeline roles' tests deploy with too), read back through the AWS APIs, then destroyed; and the
main stack initialised against the state bucket it made, with the committed partial backend
configuration and S3-native locking."""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import subprocess
from collections.abc import Iterator
from typing import Any
from urllib.parse import unquote

import pytest
from botocore.exceptions import ClientError

from tests.conftest import BOOTSTRAP_VARIABLES, EmulatorStack
from tools.localaws.emulator import ACCESS_KEY_ID, REGION, SECRET_ACCESS_KEY, Emulator
from tools.localaws.stage import REPO, Stack

BOOTSTRAP = REPO / "bootstrap"
REPOSITORY = BOOTSTRAP_VARIABLES["github_repository"]
BUCKET = BOOTSTRAP_VARIABLES["state_bucket_name"]
OIDC_HOST = "token.actions.githubusercontent.com"

requires_terraform = pytest.mark.skipif(
    shutil.which("terraform") is None, reason="terraform is not installed"
)


# --- static: the module as text -----------------------------------------------------------------


@requires_terraform
def test_bootstrap_files_are_formatted() -> None:
    result = subprocess.run(
        ["terraform", "fmt", "-check", "-diff", "-no-color", "bootstrap"],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, "CHECKPOINT_DISABLE": "1"},
    )
    assert result.returncode == 0, f"run `make fmt`:\n{result.stdout}"


def test_bootstrap_holds_no_emulator_settings() -> None:
    forbidden = re.compile(r"127\.0\.0\.1|localhost|endpoints\s*\{|access_key|secret_key|AKIA")
    for path in [*BOOTSTRAP.glob("*.tf"), *(REPO / "environments").glob("*.tfbackend")]:
        assert not forbidden.findall(path.read_text()), path.name


def test_partial_backend_files_name_one_key_per_environment_and_no_bucket() -> None:
    # The bucket name carries the account id: it comes from the pipeline, never the repository.
    for env in ("dev", "staging", "prod"):
        text = (REPO / "environments" / f"{env}.s3.tfbackend").read_text()
        settings = dict(re.findall(r"^(\w+)\s*=\s*(.+)$", text, re.MULTILINE))
        assert settings == {
            "key": f'"users-api/{env}/terraform.tfstate"',
            "use_lockfile": "true",
            "encrypt": "true",
        }


def test_the_root_module_has_no_backend_block() -> None:
    # A fresh clone's `terraform init && terraform apply` keeps local state: only the pipeline
    # adds `backend "s3" {}` (backend_override.tf).
    for path in REPO.glob("*.tf"):
        assert not re.search(r'backend\s+"', path.read_text()), path.name


# --- applied to the emulator --------------------------------------------------------------------


@pytest.fixture
def emulator(pipeline_account: EmulatorStack) -> Emulator:
    """This module's emulator is the pipeline's account, not the session's shared one."""
    return pipeline_account.emulator


@pytest.fixture
def bootstrap(pipeline_account: EmulatorStack) -> tuple[Stack, dict[str, Any]]:
    return pipeline_account.stack, pipeline_account.outputs


def _policy(document: str | dict[str, Any]) -> dict[str, Any]:
    parsed = json.loads(unquote(document)) if isinstance(document, str) else document
    return dict(parsed)


def _statements(document: str | dict[str, Any]) -> list[dict[str, Any]]:
    statements = _policy(document)["Statement"]
    return [statements] if isinstance(statements, dict) else list(statements)


def _listed(value: str | list[str]) -> list[str]:
    return [value] if isinstance(value, str) else list(value)


@pytest.mark.slow
def test_outputs_give_the_backend_settings_and_the_roles(
    bootstrap: tuple[Stack, dict[str, Any]],
) -> None:
    _, outputs = bootstrap
    assert outputs["state_bucket_name"] == BUCKET
    assert outputs["backend_config"]["prod"] == {
        "bucket": BUCKET,
        "key": "users-api/prod/terraform.tfstate",
        "region": REGION,
        "use_lockfile": True,
        "encrypt": True,
    }
    assert set(outputs["deploy_role_arns"]) == {"dev", "prod"}
    assert outputs["deploy_role_arns"]["dev"].endswith(":role/users-api-github-dev-deploy")
    assert outputs["plan_role_arn"].endswith(":role/users-api-github-plan")


@pytest.mark.slow
def test_state_bucket_is_versioned_encrypted_private_and_tls_only(
    bootstrap: tuple[Stack, dict[str, Any]], emulator: Emulator
) -> None:
    s3 = emulator.client("s3")
    assert s3.get_bucket_versioning(Bucket=BUCKET)["Status"] == "Enabled"
    rules = s3.get_bucket_encryption(Bucket=BUCKET)["ServerSideEncryptionConfiguration"]["Rules"]
    assert rules[0]["ApplyServerSideEncryptionByDefault"]["SSEAlgorithm"] == "AES256"
    block = s3.get_public_access_block(Bucket=BUCKET)["PublicAccessBlockConfiguration"]
    assert block == {
        "BlockPublicAcls": True,
        "IgnorePublicAcls": True,
        "BlockPublicPolicy": True,
        "RestrictPublicBuckets": True,
    }
    ownership = s3.get_bucket_ownership_controls(Bucket=BUCKET)["OwnershipControls"]
    assert ownership["Rules"] == [{"ObjectOwnership": "BucketOwnerEnforced"}]
    lifecycle = s3.get_bucket_lifecycle_configuration(Bucket=BUCKET)["Rules"]
    assert [rule["NoncurrentVersionExpiration"]["NoncurrentDays"] for rule in lifecycle] == [90]

    (deny,) = _statements(s3.get_bucket_policy(Bucket=BUCKET)["Policy"])
    assert deny["Effect"] == "Deny"
    assert deny["Principal"] in ("*", {"AWS": "*"})
    assert deny["Action"] == "s3:*"
    assert sorted(_listed(deny["Resource"])) == [
        f"arn:aws:s3:::{BUCKET}",
        f"arn:aws:s3:::{BUCKET}/*",
    ]
    assert deny["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}


@pytest.mark.slow
def test_github_oidc_provider_trusts_sts_audience(
    bootstrap: tuple[Stack, dict[str, Any]], emulator: Emulator
) -> None:
    _, outputs = bootstrap
    provider = emulator.client("iam").get_open_id_connect_provider(
        OpenIDConnectProviderArn=outputs["github_oidc_provider_arn"]
    )
    assert provider["Url"].removeprefix("https://") == OIDC_HOST
    assert provider["ClientIDList"] == ["sts.amazonaws.com"]


@pytest.mark.slow
@pytest.mark.parametrize(
    ("role", "subject"),
    [
        ("users-api-github-dev-deploy", f"repo:{REPOSITORY}:environment:dev"),
        ("users-api-github-prod-deploy", f"repo:{REPOSITORY}:environment:prod"),
        ("users-api-github-plan", f"repo:{REPOSITORY}:pull_request"),
    ],
)
def test_roles_are_assumable_only_by_the_repository_through_oidc(
    bootstrap: tuple[Stack, dict[str, Any]], emulator: Emulator, role: str, subject: str
) -> None:
    _, outputs = bootstrap
    trust = emulator.client("iam").get_role(RoleName=role)["Role"]["AssumeRolePolicyDocument"]
    (statement,) = _statements(trust)
    assert statement["Effect"] == "Allow"
    assert statement["Principal"] == {"Federated": outputs["github_oidc_provider_arn"]}
    assert statement["Action"] == "sts:AssumeRoleWithWebIdentity"
    assert statement["Condition"] == {
        "StringEquals": {
            f"{OIDC_HOST}:aud": "sts.amazonaws.com",
            f"{OIDC_HOST}:sub": subject,
        }
    }


def _role_policy(emulator: Emulator, role: str) -> list[dict[str, Any]]:
    iam = emulator.client("iam")
    (name,) = iam.list_role_policies(RoleName=role)["PolicyNames"]
    assert iam.list_attached_role_policies(RoleName=role)["AttachedPolicies"] == []
    return _statements(iam.get_role_policy(RoleName=role, PolicyName=name)["PolicyDocument"])


@pytest.mark.slow
@pytest.mark.parametrize(
    "role",
    [
        "users-api-github-dev-deploy",
        "users-api-github-prod-deploy",
        "users-api-github-plan",
        "users-api-github-preview",
    ],
)
def test_role_policies_name_exact_actions_and_scope_every_wildcard_resource(
    bootstrap: tuple[Stack, dict[str, Any]], emulator: Emulator, role: str
) -> None:
    statements = _role_policy(emulator, role)
    assert statements
    for statement in statements:
        assert statement["Effect"] == "Allow"
        actions = _listed(statement["Action"])
        resources = _listed(statement["Resource"])
        # No "*" nor "service:*" nor "service:Get*": every action is spelled out.
        assert all(re.fullmatch(r"[a-z0-9-]+:[A-Za-z]+", action) for action in actions), actions
        if "*" in resources:
            # Only for actions AWS authorises on no resource, and then held to the region
            assert resources == ["*"]
            # (kms:CreateKey is also held to the stack's request tags)
            assert statement["Condition"]["StringEquals"]["aws:RequestedRegion"] == REGION, (
                statement["Sid"]
            )


@pytest.mark.slow
def test_deploy_role_reaches_its_own_environment_and_state_only(
    bootstrap: tuple[Stack, dict[str, Any]], emulator: Emulator
) -> None:
    statements = {s["Sid"]: s for s in _role_policy(emulator, "users-api-github-dev-deploy")}
    resources = [r for s in statements.values() for r in _listed(s["Resource"])]
    assert not [r for r in resources if "prod" in r]
    assert _listed(statements["ReadWriteOwnState"]["Resource"]) == [
        f"arn:aws:s3:::{BUCKET}/users-api/dev/terraform.tfstate"
    ]
    assert _listed(statements["LockOwnState"]["Resource"]) == [
        f"arn:aws:s3:::{BUCKET}/users-api/dev/terraform.tfstate.tflock"
    ]
    assert _listed(statements["ManageTables"]["Resource"]) == [
        "arn:aws:dynamodb:us-east-1:123456789012:table/users-api-dev-*"
    ]
    # Roles it creates carry the boundary bootstrap made, and go to Lambda only.
    boundary = statements["WriteFunctionRolesWithinBoundary"]["Condition"]["StringEquals"][
        "iam:PermissionsBoundary"
    ]
    emulator.client("iam").get_policy(PolicyArn=boundary)  # exists
    assert boundary.endswith(":policy/users-api-github-dev-function-boundary")
    assert statements["PassFunctionRolesToLambda"]["Condition"] == {
        "StringEquals": {"iam:PassedToService": "lambda.amazonaws.com"}
    }
    # The pipeline's own roles are outside the "users-api-dev-*" names it may manage.
    assert not re.fullmatch("users-api-dev-.*", "users-api-github-dev-deploy"), (
        "a deploy role could rewrite itself"
    )


@pytest.mark.slow
def test_deploy_role_manages_and_drives_only_its_own_codedeploy_group(
    bootstrap: tuple[Stack, dict[str, Any]], emulator: Emulator
) -> None:
    statements = {s["Sid"]: s for s in _role_policy(emulator, "users-api-github-prod-deploy")}
    codedeploy = "arn:aws:codedeploy:us-east-1:123456789012"
    assert sorted(_listed(statements["ManageCodeDeploy"]["Resource"])) == [
        f"{codedeploy}:application:users-api-prod",
        f"{codedeploy}:deploymentconfig:users-api-prod-*",
        f"{codedeploy}:deploymentgroup:users-api-prod/users-api-prod-live",
    ]
    assert sorted(_listed(statements["ShiftTrafficWithCodeDeploy"]["Action"])) == [
        "codedeploy:CreateDeployment",
        "codedeploy:GetApplicationRevision",
        "codedeploy:GetDeployment",
        "codedeploy:RegisterApplicationRevision",
    ]
    passed = statements["PassCodeDeployRole"]
    assert passed["Resource"] == "arn:aws:iam::123456789012:role/users-api-prod-codedeploy"
    assert passed["Condition"] == {
        "StringEquals": {"iam:PassedToService": "codedeploy.amazonaws.com"}
    }
    assert statements["RollBackTheLiveAlias"]["Resource"] == (
        "arn:aws:lambda:us-east-1:123456789012:function:users-api-prod:live"
    )
    # CodeDeploy's role is created under the boundary, which lets it move `live` and nothing else.
    iam = emulator.client("iam")
    boundary = iam.get_policy(
        PolicyArn="arn:aws:iam::123456789012:policy/users-api-github-prod-function-boundary"
    )["Policy"]
    version = iam.get_policy_version(
        PolicyArn=boundary["Arn"], VersionId=boundary["DefaultVersionId"]
    )["PolicyVersion"]
    shift = {s["Sid"]: s for s in _statements(version["Document"])}["ShiftOwnLiveAlias"]
    assert shift["Resource"] == "arn:aws:lambda:us-east-1:123456789012:function:users-api-prod:live"


@pytest.mark.slow
def test_preview_role_applies_only_pull_request_stacks_under_its_own_boundary(
    bootstrap: tuple[Stack, dict[str, Any]], emulator: Emulator
) -> None:
    _, outputs = bootstrap
    assert outputs["preview_role_arn"].endswith(":role/users-api-github-preview")
    iam = emulator.client("iam")
    trust = iam.get_role(RoleName="users-api-github-preview")["Role"]["AssumeRolePolicyDocument"]
    (statement,) = _statements(trust)
    assert statement["Condition"]["StringEquals"][f"{OIDC_HOST}:sub"] == (
        f"repo:{REPOSITORY}:environment:preview"
    )
    statements = {s["Sid"]: s for s in _role_policy(emulator, "users-api-github-preview")}
    # The deploy roles' policy, for the scope pr-*: same purposes, other names.
    dev = {s["Sid"] for s in _role_policy(emulator, "users-api-github-dev-deploy")}
    assert set(statements) == dev
    resources = [r for s in statements.values() for r in _listed(s["Resource"])]
    for resource in resources:
        assert not re.search(r"users-api-(dev|prod)\b|users-api/(dev|prod)/", resource), resource
    assert _listed(statements["ReadWriteOwnState"]["Resource"]) == [
        f"arn:aws:s3:::{BUCKET}/users-api/pr-*/terraform.tfstate"
    ]
    assert _listed(statements["ManageTables"]["Resource"]) == [
        "arn:aws:dynamodb:us-east-1:123456789012:table/users-api-pr-*-*"
    ]
    boundary = statements["WriteFunctionRolesWithinBoundary"]["Condition"]["StringEquals"][
        "iam:PermissionsBoundary"
    ]
    assert boundary.endswith(":policy/users-api-github-preview-function-boundary")
    iam.get_policy(PolicyArn=boundary)  # exists
    created = statements["CreateHttpApiWithStackTags"]["Condition"]
    assert created["StringLike"] == {"aws:RequestTag/Environment": "pr-*"}
    # Its own role and boundary are outside the names it may manage.
    assert not re.fullmatch("users-api-pr-.*", "users-api-github-preview")


@pytest.mark.slow
def test_plan_role_reads_state_and_writes_nothing(
    bootstrap: tuple[Stack, dict[str, Any]], emulator: Emulator
) -> None:
    write = re.compile(r":(Create|Delete|Put|Update|Tag|Untag|Add|Remove|Set|Pass|Attach)")
    for statement in _role_policy(emulator, "users-api-github-plan"):
        for action in _listed(statement["Action"]):
            assert not write.search(action), action
            assert action not in {"apigateway:POST", "apigateway:PATCH", "apigateway:DELETE"}


def _backend_stack(emulator: Emulator) -> Stack:
    """The main stack staged with the pipeline's backend block and the committed dev settings."""
    stack = Stack(emulator.endpoint, name=f"pytest-{os.getpid()}-backend")
    work = stack.stage()
    # What the pipeline writes before `terraform init`.
    (work / "backend_override.tf").write_text('terraform {\n  backend "s3" {}\n}\n')
    # What the pipeline passes on the command line, plus what only the emulator needs.
    (work / "emulator.s3.tfbackend").write_text(
        f'bucket = "{BUCKET}"\n'
        f'region = "{REGION}"\n'
        f'endpoints = {{ s3 = "{emulator.endpoint}" }}\n'
        "use_path_style = true\n"
        f'access_key = "{ACCESS_KEY_ID}"\n'
        f'secret_key = "{SECRET_ACCESS_KEY}"\n'
        "skip_credentials_validation = true\n"
        "skip_requesting_account_id = true\n"
        "skip_metadata_api_check = true\n"
        "skip_region_validation = true\n"
    )
    return stack


@pytest.mark.slow
def test_state_bucket_refuses_object_access_over_plain_http(
    bootstrap: tuple[Stack, dict[str, Any]], emulator: Emulator
) -> None:
    # The emulator speaks plain HTTP only, and moto evaluates a bucket policy's Deny on objects.
    assert emulator.endpoint.startswith("http://")
    with pytest.raises(ClientError) as refused:
        emulator.client("s3").put_object(Bucket=BUCKET, Key="users-api/dev/x", Body=b"{}")
    assert refused.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403


@contextlib.contextmanager
def _plain_http_allowed(s3: Any) -> Iterator[None]:
    """The bucket without its TLS-only policy (the emulator has no TLS), restored afterwards."""
    policy = s3.get_bucket_policy(Bucket=BUCKET)["Policy"]
    s3.delete_bucket_policy(Bucket=BUCKET)
    try:
        yield
    finally:
        s3.put_bucket_policy(Bucket=BUCKET, Policy=policy)


@pytest.mark.slow
def test_main_stack_keeps_its_state_in_the_bucket_with_s3_native_locking(
    bootstrap: tuple[Stack, dict[str, Any]], emulator: Emulator
) -> None:
    stack = _backend_stack(emulator)
    s3 = emulator.client("s3")
    lock_key = "users-api/dev/terraform.tfstate.tflock"
    with _plain_http_allowed(s3):
        try:
            _plan_with_the_backend(stack, s3, lock_key)
        finally:
            _empty(s3)


def _empty(s3: Any) -> None:
    """Every version and delete marker gone: the bucket has no force_destroy."""
    listed = s3.list_object_versions(Bucket=BUCKET)
    for entry in [*listed.get("Versions", []), *listed.get("DeleteMarkers", [])]:
        s3.delete_object(Bucket=BUCKET, Key=entry["Key"], VersionId=entry["VersionId"])


def _plan_with_the_backend(stack: Stack, s3: Any, lock_key: str) -> None:
    try:
        stack.terraform(
            "init",
            "-input=false",
            f"-backend-config={REPO / 'environments' / 'dev.s3.tfbackend'}",
            "-backend-config=emulator.s3.tfbackend",
            step="init",
        )
        stack.terraform("validate", step="validate")

        # Someone else holds the lock: terraform refuses to plan.
        s3.put_object(Bucket=BUCKET, Key=lock_key, Body=b'{"ID": "someone-else"}')
        locked = stack.terraform(
            "plan", "-input=false", "-lock-timeout=0s", step="plan", ok_codes=(1,)
        )
        assert "Error acquiring the state lock" in locked.stderr
        s3.delete_object(Bucket=BUCKET, Key=lock_key)

        plan = stack.terraform(
            "plan", "-input=false", "-detailed-exitcode", step="plan", ok_codes=(2,)
        )
        assert "aws_lambda_function.users_api will be created" in plan.stdout
        # terraform took the lock (one more version of the lock object) and released it.
        versions = s3.list_object_versions(Bucket=BUCKET, Prefix=lock_key).get("Versions", [])
        assert len(versions) == 2
        with pytest.raises(ClientError):
            s3.head_object(Bucket=BUCKET, Key=lock_key)
    finally:
        stack.remove()


# After the pipeline roles' tests (tests/infra/test_pipeline_roles.py), which deploy with it.
@pytest.mark.slow
@pytest.mark.destroys_stack
def test_destroy_removes_everything_bootstrap_made(
    pipeline_account: EmulatorStack, emulator: Emulator
) -> None:
    stack, outputs = pipeline_account.stack, pipeline_account.outputs
    pipeline_account.destroy()  # so the fixture's teardown does not destroy again
    iam = emulator.client("iam")
    assert BUCKET not in [b["Name"] for b in emulator.client("s3").list_buckets()["Buckets"]]
    roles = [r["RoleName"] for r in iam.list_roles()["Roles"]]
    assert not [r for r in roles if r.startswith("users-api-github-")]
    policies = [p["PolicyName"] for p in iam.list_policies(Scope="Local")["Policies"]]
    assert not [p for p in policies if p.startswith("users-api-github-")]
    providers = iam.list_open_id_connect_providers()["OpenIDConnectProviderList"]
    assert outputs["github_oidc_provider_arn"] not in [p["Arn"] for p in providers]
    assert stack.resources() == {}


def test_staging_another_root_copies_its_files_without_the_package() -> None:
    stack = Stack("http://127.0.0.1:1", name="pytest-stage-only", root=BOOTSTRAP, package=False)
    try:
        work = stack.stage()
        staged = sorted(p.name for p in work.glob("*.tf"))
        assert staged == sorted([p.name for p in BOOTSTRAP.glob("*.tf")] + ["emulator_override.tf"])
        assert not (work / "build").exists()
        override = (work / "emulator_override.tf").read_text()
        assert re.search(r'^\s+s3\s+= "http://127.0.0.1:1"$', override, re.MULTILINE)
        assert "s3_use_path_style = true" in override
    finally:
        stack.remove()
