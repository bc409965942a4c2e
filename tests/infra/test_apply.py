"""What `terraform apply` created, read back from the emulator through boto3."""

from __future__ import annotations

import base64
import hashlib
import json
from typing import TYPE_CHECKING, Any

import pytest

from tests.tables import DECLARED, IDEMPOTENCY_TTL_ATTRIBUTE, LIST_INDEX, TABLES, TTL_ATTRIBUTES

if TYPE_CHECKING:
    from tests.conftest import EmulatorStack

pytestmark = pytest.mark.slow


def _sorted_by(items: list[dict[str, Any]], key: str) -> list[dict[str, Any]]:
    return sorted(items, key=lambda item: item[key])


def test_every_table_terraform_creates_is_one_the_unit_tests_use(
    emulator_stack: EmulatorStack,
) -> None:
    tables = emulator_stack.outputs["tables"]
    assert set(tables) == set(TABLES)
    for key in ("users", "emails", "idempotency"):  # the outputs scripts and the tools read
        assert emulator_stack.outputs[f"{key}_table_name"] == tables[key]["name"]
        assert emulator_stack.outputs[f"{key}_table_arn"] == tables[key]["arn"]


@pytest.mark.parametrize(("key", "spec"), TABLES.items())
def test_table_matches_the_spec_the_unit_tests_use(
    emulator_stack: EmulatorStack, key: str, spec: dict[str, Any]
) -> None:
    dynamodb = emulator_stack.client("dynamodb")
    name = emulator_stack.outputs["tables"][key]["name"]
    table = dynamodb.describe_table(TableName=name)["Table"]
    ttl = dynamodb.describe_time_to_live(TableName=name)["TimeToLiveDescription"]
    if key in TTL_ATTRIBUTES:
        assert ttl == {"TimeToLiveStatus": "ENABLED", "AttributeName": TTL_ATTRIBUTES[key]}
    else:
        assert ttl["TimeToLiveStatus"] == "DISABLED"

    assert table["BillingModeSummary"]["BillingMode"] == spec["BillingMode"] == "PAY_PER_REQUEST"
    assert table["KeySchema"] == spec["KeySchema"]
    assert _sorted_by(table["AttributeDefinitions"], "AttributeName") == _sorted_by(
        spec["AttributeDefinitions"], "AttributeName"
    )
    indexes = {
        index["IndexName"]: (index["KeySchema"], index["Projection"])
        for index in table.get("GlobalSecondaryIndexes", [])
    }
    assert indexes == {
        index["IndexName"]: (index["KeySchema"], index["Projection"])
        for index in spec.get("GlobalSecondaryIndexes", [])
    }
    # Encrypted at rest with the AWS-owned key (no KMS cost): DynamoDB then reports no SSE.
    assert "SSEDescription" not in table
    assert table["DeletionProtectionEnabled"] is False
    backups = dynamodb.describe_continuous_backups(TableName=name)["ContinuousBackupsDescription"]
    assert backups["PointInTimeRecoveryDescription"]["PointInTimeRecoveryStatus"] == "ENABLED"
    tags = {
        tag["Key"]: tag["Value"]
        for tag in dynamodb.list_tags_of_resource(ResourceArn=table["TableArn"])["Tags"]
    }
    assert tags == {"Project": "users-api", "Environment": "dev", "ManagedBy": "terraform"}


def test_users_table_has_the_list_index_the_function_is_told_about(
    emulator_stack: EmulatorStack,
) -> None:
    table = emulator_stack.client("dynamodb").describe_table(
        TableName=emulator_stack.outputs["users_table_name"]
    )["Table"]
    assert [index["IndexName"] for index in table["GlobalSecondaryIndexes"]] == [LIST_INDEX]


def test_idempotency_records_expire_with_ttl(emulator_stack: EmulatorStack) -> None:
    ttl = emulator_stack.client("dynamodb").describe_time_to_live(
        TableName=emulator_stack.outputs["idempotency_table_name"]
    )["TimeToLiveDescription"]
    assert ttl == {"TimeToLiveStatus": "ENABLED", "AttributeName": IDEMPOTENCY_TTL_ATTRIBUTE}


def test_function_configuration(emulator_stack: EmulatorStack) -> None:
    outputs = emulator_stack.outputs
    function = emulator_stack.client("lambda").get_function(FunctionName=outputs["function_name"])[
        "Configuration"
    ]
    assert function["FunctionArn"] == outputs["function_arn"]
    assert function["Handler"] == "users_api.app.handler"
    assert function["Runtime"] == "python3.13"
    assert function["Architectures"] == ["x86_64"]
    assert function["MemorySize"] == emulator_stack.variables["lambda_memory_mb"]
    assert function["Timeout"] == emulator_stack.variables["lambda_timeout_seconds"] < 30
    assert function["TracingConfig"] == {"Mode": "PassThrough"}
    # Every table of the tables map reaches the function as <KEY>_TABLE.
    tables = {f"{key.upper()}_TABLE": table["name"] for key, table in outputs["tables"].items()}
    assert tables["USERS_TABLE"] == outputs["users_table_name"]
    assert tables["EMAILS_TABLE"] == outputs["emails_table_name"]
    assert tables["IDEMPOTENCY_TABLE"] == outputs["idempotency_table_name"]
    assert function["Environment"]["Variables"] == {
        **tables,
        "LIST_INDEX": LIST_INDEX,
        "LOG_LEVEL": "INFO",
        "AUTHORIZATION": "NONE",
        "ADMIN_SCOPE": "users/admin",
        "PROFILE_READS": "self",
    }
    digest = hashlib.sha256(emulator_stack.stack.zip_path.read_bytes()).digest()
    assert function["CodeSha256"] == base64.b64encode(digest).decode()


def test_function_role_is_the_stacks_own(emulator_stack: EmulatorStack) -> None:
    function = emulator_stack.client("lambda").get_function(
        FunctionName=emulator_stack.outputs["function_name"]
    )["Configuration"]
    role = emulator_stack.client("iam").get_role(RoleName=function["Role"].split("/")[-1])["Role"]
    assert role["AssumeRolePolicyDocument"]["Statement"] == [
        {
            "Sid": "LambdaAssumesRole",
            "Effect": "Allow",
            "Action": "sts:AssumeRole",
            "Principal": {"Service": "lambda.amazonaws.com"},
        }
    ]


def _as_set(value: str | list[str]) -> frozenset[str]:
    return frozenset([value] if isinstance(value, str) else value)


def test_iam_grants_exactly_the_calls_the_code_makes_on_exactly_these_arns(
    emulator_stack: EmulatorStack,
) -> None:
    outputs = emulator_stack.outputs
    iam = emulator_stack.client("iam")
    function = emulator_stack.client("lambda").get_function(FunctionName=outputs["function_name"])
    role_name = function["Configuration"]["Role"].split("/")[-1]
    log_group_arn = emulator_stack.resource("aws_cloudwatch_log_group.function")["arn"]

    assert iam.list_attached_role_policies(RoleName=role_name)["AttachedPolicies"] == []
    names = iam.list_role_policies(RoleName=role_name)["PolicyNames"]
    assert len(names) == 1
    document = iam.get_role_policy(RoleName=role_name, PolicyName=names[0])["PolicyDocument"]
    statements = document["Statement"]

    for statement in statements:
        assert statement["Effect"] == "Allow"
        assert set(statement) == {"Sid", "Effect", "Action", "Resource"}  # no Not*, no Condition
        assert not [action for action in _as_set(statement["Action"]) if "*" in action]
        # Tracing is off in this stack, so not even X-Ray's Resource "*" may appear; the one
        # wildcard allowed is "any log stream of the function's own log group".
        for resource in _as_set(statement["Resource"]):
            assert "*" not in resource or resource == f"{log_group_arn}:*", resource

    granted = {
        (statement["Sid"], resource): _as_set(statement["Action"])
        for statement in statements
        for resource in _as_set(statement["Resource"])
    }
    assert granted == {
        ("ReadAndWriteUsers", outputs["users_table_arn"]): {
            "dynamodb:GetItem",
            "dynamodb:PutItem",
            "dynamodb:UpdateItem",
            "dynamodb:DeleteItem",
            "dynamodb:BatchGetItem",
        },
        ("ListUsersNewestFirst", f"{outputs['users_table_arn']}/index/{LIST_INDEX}"): {
            "dynamodb:Query"
        },
        ("ClaimLookUpAndReleaseEmails", outputs["emails_table_arn"]): {
            "dynamodb:GetItem",
            "dynamodb:PutItem",
            "dynamodb:DeleteItem",
        },
        ("RecordIdempotencyKeys", outputs["idempotency_table_arn"]): {
            "dynamodb:PutItem",
            "dynamodb:UpdateItem",
            "dynamodb:DeleteItem",
        },
        ("WriteOwnLogs", f"{log_group_arn}:*"): {"logs:CreateLogStream", "logs:PutLogEvents"},
        # A table added to the map since (a new resource) gets its entry's statements, no more.
        **_other_tables_statements(outputs["tables"]),
    }


# The users API's own tables, whose exact grants are written out above.
USERS_API_TABLES = ("users", "emails", "idempotency")


def _other_tables_statements(tables: dict[str, Any]) -> dict[tuple[str, str], set[str]]:
    granted: dict[tuple[str, str], set[str]] = {}
    for key, entry in DECLARED.items():
        if key in USERS_API_TABLES:
            continue
        arn = tables[key]["arn"]
        granted[(entry["sid"], arn)] = set(entry["actions"])
        for name, index in entry["indexes"].items():
            granted[(index["sid"], f"{arn}/index/{name}")] = set(index["actions"])
    return granted


def test_log_groups_exist_with_the_retention(emulator_stack: EmulatorStack) -> None:
    outputs = emulator_stack.outputs
    groups = {
        group["logGroupName"]: group
        for group in emulator_stack.client("logs").describe_log_groups()["logGroups"]
    }
    assert outputs["function_log_group_name"] == f"/aws/lambda/{outputs['function_name']}"
    for name in (outputs["function_log_group_name"], outputs["access_log_group_name"]):
        assert groups[name]["retentionInDays"] == emulator_stack.variables["log_retention_days"]


def test_http_api_with_cors_from_the_variable(emulator_stack: EmulatorStack) -> None:
    api = emulator_stack.client("apigatewayv2").get_api(ApiId=emulator_stack.outputs["api_id"])
    assert api["ProtocolType"] == "HTTP"
    assert emulator_stack.outputs["api_url"] == api["ApiEndpoint"]
    cors = api["CorsConfiguration"]
    assert sorted(cors["AllowOrigins"]) == sorted(emulator_stack.variables["cors_allowed_origins"])
    assert sorted(cors["AllowMethods"]) == ["DELETE", "GET", "OPTIONS", "PATCH", "POST", "PUT"]
    allowed = {"authorization", "content-type", "idempotency-key", "if-match"}
    assert allowed <= set(cors["AllowHeaders"])
    assert {"etag", "location", "retry-after"} <= set(cors["ExposeHeaders"])
    assert cors.get("AllowCredentials") is not True


def test_one_lambda_proxy_integration_with_payload_format_2_0(
    emulator_stack: EmulatorStack,
) -> None:
    apigw = emulator_stack.client("apigatewayv2")
    integrations = apigw.get_integrations(ApiId=emulator_stack.outputs["api_id"])["Items"]
    assert len(integrations) == 1
    integration = integrations[0]
    assert integration["IntegrationType"] == "AWS_PROXY"
    assert integration["PayloadFormatVersion"] == "2.0"
    # The `live` alias, never the unqualified function ($LATEST).
    alias_arn = emulator_stack.outputs["function_alias_arn"]
    assert alias_arn == f"{emulator_stack.outputs['function_arn']}:live"
    assert integration["IntegrationUri"].endswith(f"/functions/{alias_arn}/invocations")
    assert integration["TimeoutInMillis"] <= 30_000

    routes = apigw.get_routes(ApiId=emulator_stack.outputs["api_id"])["Items"]
    assert {route["Target"] for route in routes} == {f"integrations/{integration['IntegrationId']}"}
    assert "$default" in {route["RouteKey"] for route in routes}


def test_default_stage_auto_deploys_with_throttling_and_json_access_logs(
    emulator_stack: EmulatorStack,
) -> None:
    stages = emulator_stack.client("apigatewayv2").get_stages(
        ApiId=emulator_stack.outputs["api_id"]
    )["Items"]
    assert [stage["StageName"] for stage in stages] == ["$default"]
    stage = stages[0]
    assert stage["AutoDeploy"] is True
    assert stage["DefaultRouteSettings"]["ThrottlingBurstLimit"] == 20
    assert stage["DefaultRouteSettings"]["ThrottlingRateLimit"] == 10
    access_group = emulator_stack.resource("aws_cloudwatch_log_group.api_access")
    assert stage["AccessLogSettings"]["DestinationArn"] == access_group["arn"]
    log_format = json.loads(stage["AccessLogSettings"]["Format"])
    assert log_format["requestId"] == "$context.requestId"
    assert log_format["status"] == "$context.status"
    assert log_format["routeKey"] == "$context.routeKey"


def test_invoke_permission_is_scoped_to_this_api_and_the_live_alias(
    emulator_stack: EmulatorStack,
) -> None:
    lambda_ = emulator_stack.client("lambda")
    name = emulator_stack.outputs["function_name"]
    policy = json.loads(lambda_.get_policy(FunctionName=name, Qualifier="live")["Policy"])
    execution_arn = emulator_stack.resource("aws_apigatewayv2_api.users")["execution_arn"]
    assert execution_arn.endswith(f":{emulator_stack.outputs['api_id']}")
    [statement] = policy["Statement"]
    assert statement["Action"] == "lambda:InvokeFunction"
    assert statement["Resource"] == emulator_stack.outputs["function_alias_arn"]
    assert statement["Principal"] == {"Service": "apigateway.amazonaws.com"}
    assert statement["Condition"] == {"ArnLike": {"AWS:SourceArn": f"{execution_arn}/*/*"}}


def test_function_is_published_and_live_points_at_the_latest_version(
    emulator_stack: EmulatorStack,
) -> None:
    lambda_ = emulator_stack.client("lambda")
    name = emulator_stack.outputs["function_name"]
    versions = [
        v["Version"] for v in lambda_.list_versions_by_function(FunctionName=name)["Versions"]
    ]
    alias = lambda_.get_alias(FunctionName=name, Name="live")

    assert versions == ["$LATEST", "1"]
    assert alias["FunctionVersion"] == emulator_stack.outputs["function_live_version"] == "1"
    assert alias["AliasArn"] == emulator_stack.outputs["function_alias_arn"]
    # Dev defaults: unreserved, nothing provisioned, no SnapStart.
    assert "ReservedConcurrentExecutions" not in lambda_.get_function_concurrency(FunctionName=name)
    assert (
        lambda_.get_function_configuration(FunctionName=name, Qualifier="1")["SnapStart"]["ApplyOn"]
        == "None"
    )


def test_dev_defaults_publish_parameters_and_a_dashboard_but_no_alarms(
    emulator_stack: EmulatorStack,
) -> None:
    outputs = emulator_stack.outputs
    prefix = "users-api-dev"
    parameters = emulator_stack.client("ssm").get_parameters_by_path(Path="/users-api/dev")
    assert outputs["parameter_path"] == "/users-api/dev"
    assert {p["Name"]: (p["Type"], p["Value"]) for p in parameters["Parameters"]} == {
        "/users-api/dev/api_url": ("String", outputs["api_url"]),
        "/users-api/dev/users_table": ("String", outputs["users_table_name"]),
        "/users-api/dev/emails_table": ("String", outputs["emails_table_name"]),
        "/users-api/dev/idempotency_table": ("String", outputs["idempotency_table_name"]),
        "/users-api/dev/function_name": ("String", outputs["function_name"]),
        **{
            f"/users-api/dev/{key}_table": ("String", outputs["tables"][key]["name"])
            for key in DECLARED
            if key not in USERS_API_TABLES
        },
    }
    dashboard = emulator_stack.client("cloudwatch").get_dashboard(DashboardName=prefix)
    assert outputs["dashboard_name"] == prefix
    assert len(json.loads(dashboard["DashboardBody"])["widgets"]) == 6

    alarms = emulator_stack.client("cloudwatch").describe_alarms(AlarmNamePrefix=prefix)
    assert alarms["MetricAlarms"] == alarms.get("CompositeAlarms", []) == []
    assert "alarm_topic_arn" not in outputs  # null outputs are not listed
    topics = emulator_stack.client("sns").list_topics()["Topics"]
    assert [t for t in topics if t["TopicArn"].endswith(f":{prefix}-alarms")] == []
    assert "kms_key_arn" not in outputs
    targets = emulator_stack.client("application-autoscaling").describe_scalable_targets(
        ServiceNamespace="dynamodb"
    )["ScalableTargets"]
    assert [t for t in targets if prefix in t["ResourceId"]] == []


def test_outputs_are_ready_to_use(emulator_stack: EmulatorStack) -> None:
    outputs = emulator_stack.outputs
    assert not outputs["api_url"].endswith("/")
    assert f"'{outputs['api_url']}/users'" in outputs["example_curl"]
    assert outputs["users_table_name"] == "users-api-dev-users"
    assert outputs["emails_table_name"] == "users-api-dev-user-emails"
    assert outputs["idempotency_table_name"] == "users-api-dev-idempotency"
    assert outputs["api_url"] == outputs["execute_api_url"]  # no custom domain


def test_function_waits_for_its_log_group_and_its_permissions(
    emulator_stack: EmulatorStack,
) -> None:
    state = json.loads((emulator_stack.stack.workdir / "terraform.tfstate").read_text())
    [function] = [
        resource
        for resource in state["resources"]
        if resource["type"] == "aws_lambda_function" and resource["name"] == "users_api"
    ]
    dependencies = set(function["instances"][0]["dependencies"])
    assert {"aws_cloudwatch_log_group.function", "aws_iam_role_policy.function"} <= dependencies
