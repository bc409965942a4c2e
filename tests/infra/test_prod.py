"""environments/prod.tfvars applied as written (every operations switch on) against the emulator,
read back through boto3, re-planned without changes, then destroyed: refused while deletion
protection is on, complete once it is off.

Overridden, because a template cannot hold them: the custom domain (an ACM certificate and a
Route 53 zone of your own; here a zone made in the emulator).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import pytest

from tests.conftest import deployed_stack, stack_fixture
from tests.tables import IDEMPOTENCY_TTL_ATTRIBUTE, LIST_INDEX
from tools.localaws.emulator import ACCOUNT_ID, Emulator
from tools.localaws.stage import REPO, StackError

if TYPE_CHECKING:
    from tests.conftest import EmulatorStack

pytestmark = pytest.mark.slow

PROD_TFVARS = REPO / "environments" / "prod.tfvars"
PREFIX = "users-api-prod"
DOMAIN = "api.users.example.com"
CERTIFICATE_ARN = (
    f"arn:aws:acm:us-east-1:{ACCOUNT_ID}:certificate/0a1b2c3d-1111-2222-3333-444455556666"
)
TABLES = ("users", "user-emails", "idempotency")


@stack_fixture
def prod_stack(emulator: Emulator) -> Iterator[EmulatorStack]:
    zone = emulator.client("route53").create_hosted_zone(
        Name="users.example.com", CallerReference="prod-stack"
    )["HostedZone"]
    overrides = {
        "custom_domain_name": DOMAIN,
        "custom_domain_certificate_arn": CERTIFICATE_ARN,
        "route53_zone_id": zone["Id"].split("/")[-1],
    }
    with deployed_stack(emulator, "prod", overrides, var_files=[PROD_TFVARS]) as deployed:
        yield deployed


def _tags(client: Any, arn: str) -> dict[str, str]:
    return {t["Key"]: t["Value"] for t in client.list_tags_of_resource(ResourceArn=arn)["Tags"]}


def test_tables_are_provisioned_protected_and_encrypted_with_the_stacks_key(
    prod_stack: EmulatorStack,
) -> None:
    dynamodb = prod_stack.client("dynamodb")
    key_arn = prod_stack.outputs["kms_key_arn"]
    assert key_arn.startswith(f"arn:aws:kms:us-east-1:{ACCOUNT_ID}:key/")
    for table_name in TABLES:
        table = dynamodb.describe_table(TableName=f"{PREFIX}-{table_name}")["Table"]
        assert table["BillingModeSummary"]["BillingMode"] == "PROVISIONED"
        assert table["ProvisionedThroughput"]["ReadCapacityUnits"] == 5
        assert table["ProvisionedThroughput"]["WriteCapacityUnits"] == 5
        assert table["DeletionProtectionEnabled"] is True
        assert table["SSEDescription"]["SSEType"] == "KMS"
        assert table["SSEDescription"]["KMSMasterKeyArn"] == key_arn
        assert _tags(dynamodb, table["TableArn"])["Environment"] == "prod"
    users = dynamodb.describe_table(TableName=f"{PREFIX}-users")["Table"]
    [index] = users["GlobalSecondaryIndexes"]
    assert index["IndexName"] == LIST_INDEX
    assert index["ProvisionedThroughput"]["ReadCapacityUnits"] == 5
    ttl = dynamodb.describe_time_to_live(TableName=f"{PREFIX}-idempotency")
    assert ttl["TimeToLiveDescription"]["AttributeName"] == IDEMPOTENCY_TTL_ATTRIBUTE


def test_every_table_and_index_scales_between_the_bounds_on_utilisation(
    prod_stack: EmulatorStack,
) -> None:
    autoscaling = prod_stack.client("application-autoscaling")
    targets = {
        (t["ResourceId"], t["ScalableDimension"]): (t["MinCapacity"], t["MaxCapacity"])
        for t in autoscaling.describe_scalable_targets(ServiceNamespace="dynamodb")[
            "ScalableTargets"
        ]
        if PREFIX in t["ResourceId"]
    }
    resources = {
        **{f"table/{PREFIX}-{name}": "dynamodb:table" for name in TABLES},
        f"table/{PREFIX}-users/index/{LIST_INDEX}": "dynamodb:index",
    }
    assert targets == {
        (resource, f"{kind}:{unit}CapacityUnits"): (5, 100)
        for resource, kind in resources.items()
        for unit in ("Read", "Write")
    }
    policies = [
        p
        for p in autoscaling.describe_scaling_policies(ServiceNamespace="dynamodb")[
            "ScalingPolicies"
        ]
        if PREFIX in p["ResourceId"]
    ]
    assert {(p["ResourceId"], p["ScalableDimension"]) for p in policies} == set(targets)
    for policy in policies:
        configuration = policy["TargetTrackingScalingPolicyConfiguration"]
        unit = "Read" if "Read" in policy["ScalableDimension"] else "Write"
        assert policy["PolicyType"] == "TargetTrackingScaling"
        assert configuration["TargetValue"] == 70
        assert configuration["PredefinedMetricSpecification"] == {
            "PredefinedMetricType": f"DynamoDB{unit}CapacityUtilization"
        }


def test_function_is_reserved_encrypted_traced_and_warm_on_the_live_alias(
    prod_stack: EmulatorStack,
) -> None:
    lambda_ = prod_stack.client("lambda")
    outputs = prod_stack.outputs
    name = outputs["function_name"]
    function = lambda_.get_function(FunctionName=name)

    assert function["Concurrency"] == {"ReservedConcurrentExecutions": 100}
    configuration = function["Configuration"]
    assert configuration["KMSKeyArn"] == outputs["kms_key_arn"]
    assert configuration["TracingConfig"] == {"Mode": "Active"}
    assert configuration["LoggingConfig"]["LogFormat"] == "JSON"
    assert lambda_.get_alias(FunctionName=name, Name="live")["FunctionVersion"] == "1"
    provisioned = lambda_.get_provisioned_concurrency_config(FunctionName=name, Qualifier="live")
    assert provisioned["RequestedProvisionedConcurrentExecutions"] == 2
    assert provisioned["Status"] == "READY"


def test_function_may_use_the_key_and_nothing_else_new(prod_stack: EmulatorStack) -> None:
    policy = json.loads(prod_stack.resource("aws_iam_role_policy.function")["policy"])
    statements = {statement["Sid"]: statement for statement in policy["Statement"]}
    assert statements["UseTheStacksKey"]["Resource"] == prod_stack.outputs["kms_key_arn"]
    assert sorted(statements["UseTheStacksKey"]["Action"]) == [
        "kms:Decrypt",
        "kms:Encrypt",
        "kms:GenerateDataKey",
    ]
    assert statements["SendTraces"]["Resource"] == "*"  # tracing is on in prod


def test_key_rotates_and_lets_only_logs_and_alarms_use_it_besides_iam(
    prod_stack: EmulatorStack,
) -> None:
    kms = prod_stack.client("kms")
    key_id = prod_stack.outputs["kms_key_arn"].split("/")[-1]
    assert kms.describe_key(KeyId=key_id)["KeyMetadata"]["KeyState"] == "Enabled"
    assert kms.get_key_rotation_status(KeyId=key_id)["KeyRotationEnabled"] is True
    policy = json.loads(kms.get_key_policy(KeyId=key_id, PolicyName="default")["Policy"])
    principals = {s["Sid"]: s["Principal"] for s in policy["Statement"]}
    assert principals == {
        "AccountAdministersTheKey": {"AWS": f"arn:aws:iam::{ACCOUNT_ID}:root"},
        "CloudWatchLogsEncryptsTheStacksLogGroups": {"Service": "logs.us-east-1.amazonaws.com"},
        "CloudWatchAlarmsPublishToTheTopic": {"Service": "cloudwatch.amazonaws.com"},
    }
    groups = {
        g["logGroupName"]: g
        for g in prod_stack.client("logs").describe_log_groups(logGroupNamePrefix="/aws")[
            "logGroups"
        ]
    }
    for name in (
        prod_stack.outputs["function_log_group_name"],
        prod_stack.outputs["access_log_group_name"],
    ):
        assert groups[name]["kmsKeyId"] == prod_stack.outputs["kms_key_arn"]
        assert groups[name]["retentionInDays"] == 365


def test_alarms_cover_lambda_api_and_dynamodb_and_notify_the_topic(
    prod_stack: EmulatorStack,
) -> None:
    topic = prod_stack.outputs["alarm_topic_arn"]
    assert topic == f"arn:aws:sns:us-east-1:{ACCOUNT_ID}:{PREFIX}-alarms"
    alarms = {
        alarm["AlarmName"].removeprefix(f"{PREFIX}-"): alarm
        for alarm in prod_stack.client("cloudwatch").describe_alarms(AlarmNamePrefix=PREFIX)[
            "MetricAlarms"
        ]
    }
    assert set(alarms) == {
        "lambda-errors",
        "lambda-throttles",
        "lambda-duration-p99",
        "api-5xx-rate",
        "api-4xx-rate",
        "api-latency-p99",
        *(
            f"dynamodb-{t}-{m}"
            for t in ("users", "emails", "idempotency")
            for m in ("throttledrequests", "systemerrors")
        ),
        "dynamodb-users-transaction-conflicts",
        "dynamodb-emails-transaction-conflicts",
    }
    for alarm in alarms.values():
        assert alarm["AlarmActions"] == alarm["OKActions"] == [topic]
        assert alarm["TreatMissingData"] == "notBreaching"

    # p99 duration near the 10 s timeout: 80 % of it.
    assert alarms["lambda-duration-p99"]["ExtendedStatistic"] == "p99"
    assert alarms["lambda-duration-p99"]["Threshold"] == 8000
    assert alarms["lambda-errors"]["Dimensions"] == [
        {"Name": "FunctionName", "Value": prod_stack.outputs["function_name"]}
    ]
    # The 5xx rate is metric math over the API's 5xx and Count.
    queries = {q["Id"]: q for q in alarms["api-5xx-rate"]["Metrics"]}
    assert queries["rate"]["Expression"] == "IF(requests > 0, 100 * errors / requests, 0)"
    assert queries["errors"]["MetricStat"]["Metric"]["MetricName"] == "5xx"
    assert {"Name": "ApiId", "Value": prod_stack.outputs["api_id"]} in queries["errors"][
        "MetricStat"
    ]["Metric"]["Dimensions"]
    assert alarms["api-5xx-rate"]["Threshold"] == 1
    # Throttled requests summed over the operations the function makes on the table.
    throttles = alarms["dynamodb-users-throttledrequests"]["Metrics"]
    operations = {
        dimension["Value"]
        for query in throttles
        if "MetricStat" in query
        for dimension in query["MetricStat"]["Metric"]["Dimensions"]
        if dimension["Name"] == "Operation"
    }
    assert operations == {
        "BatchGetItem",
        "DeleteItem",
        "GetItem",
        "PutItem",
        "Query",
        "TransactWriteItems",
        "UpdateItem",
    }


def test_alarm_topic_is_encrypted_open_to_cloudwatch_and_mails_on_call(
    prod_stack: EmulatorStack,
) -> None:
    sns = prod_stack.client("sns")
    topic = prod_stack.outputs["alarm_topic_arn"]
    attributes = sns.get_topic_attributes(TopicArn=topic)["Attributes"]
    assert attributes["KmsMasterKeyId"] == prod_stack.outputs["kms_key_arn"]
    [statement] = json.loads(attributes["Policy"])["Statement"]
    assert statement["Principal"] == {"Service": "cloudwatch.amazonaws.com"}
    assert statement["Action"] == "sns:Publish"
    assert statement["Condition"] == {"StringEquals": {"aws:SourceAccount": ACCOUNT_ID}}
    subscriptions = sns.list_subscriptions_by_topic(TopicArn=topic)["Subscriptions"]
    assert [(s["Protocol"], s["Endpoint"]) for s in subscriptions] == [
        ("email", "oncall@example.com")
    ]


def test_dashboard_and_parameters(prod_stack: EmulatorStack) -> None:
    body = json.loads(
        prod_stack.client("cloudwatch").get_dashboard(DashboardName=PREFIX)["DashboardBody"]
    )
    metrics = json.dumps([widget["properties"]["metrics"] for widget in body["widgets"]])
    for expected in (prod_stack.outputs["function_name"], prod_stack.outputs["api_id"], "5xx"):
        assert expected in metrics
    for table in TABLES:
        assert f"{PREFIX}-{table}" in metrics
    parameters = prod_stack.client("ssm").get_parameters_by_path(Path="/users-api/prod")
    values = {p["Name"].rsplit("/", 1)[-1]: p["Value"] for p in parameters["Parameters"]}
    assert values["api_url"] == f"https://{DOMAIN}"
    assert values["function_name"] == PREFIX


def test_custom_domain_maps_the_api_and_has_its_alias_record(prod_stack: EmulatorStack) -> None:
    apigw = prod_stack.client("apigatewayv2")
    outputs = prod_stack.outputs
    domain = apigw.get_domain_name(DomainName=DOMAIN)
    [configuration] = domain["DomainNameConfigurations"]
    assert configuration["CertificateArn"] == CERTIFICATE_ARN
    assert configuration["EndpointType"] == "REGIONAL"
    assert configuration["SecurityPolicy"] == "TLS_1_2"
    [mapping] = apigw.get_api_mappings(DomainName=DOMAIN)["Items"]
    assert (mapping["ApiId"], mapping["Stage"]) == (outputs["api_id"], "$default")
    assert outputs["api_url"] == f"https://{DOMAIN}"
    assert outputs["execute_api_url"].endswith(".amazonaws.com")
    assert outputs["custom_domain_target"] == configuration["ApiGatewayDomainName"]

    route53 = prod_stack.client("route53")
    zone_id = prod_stack.variables["route53_zone_id"]
    records = route53.list_resource_record_sets(HostedZoneId=zone_id)["ResourceRecordSets"]
    [record] = [r for r in records if r["Name"].rstrip(".") == DOMAIN]
    assert record["Type"] == "A"
    assert record["AliasTarget"]["DNSName"].rstrip(".") == configuration["ApiGatewayDomainName"]


def test_capacity_moved_by_auto_scaling_is_left_alone_by_the_next_plan(
    prod_stack: EmulatorStack,
) -> None:
    # What Application Auto Scaling does under load: UpdateTable on the table and on its index.
    dynamodb = prod_stack.client("dynamodb")
    users = f"{PREFIX}-users"
    dynamodb.update_table(
        TableName=users,
        ProvisionedThroughput={"ReadCapacityUnits": 9, "WriteCapacityUnits": 9},
        GlobalSecondaryIndexUpdates=[
            {
                "Update": {
                    "IndexName": LIST_INDEX,
                    "ProvisionedThroughput": {"ReadCapacityUnits": 12, "WriteCapacityUnits": 12},
                }
            }
        ],
    )
    table = dynamodb.describe_table(TableName=users)["Table"]
    [index] = table["GlobalSecondaryIndexes"]
    assert index["ProvisionedThroughput"]["ReadCapacityUnits"] == 12
    assert table["ProvisionedThroughput"]["ReadCapacityUnits"] == 9

    plan = prod_stack.stack.plan()  # refreshed: it sees 9 and 12

    assert plan.changes == []
    assert plan.exit_code == 0
    checks = {c["address"]["to_display"]: c["status"] for c in plan.json["checks"]}
    assert checks["check.table_indexes"] == "pass"  # same index, other capacity: nothing to say
    assert checks["check.lambda_runtime_support"] == "pass"
    table = dynamodb.describe_table(TableName=users)["Table"]
    assert table["GlobalSecondaryIndexes"][0]["ProvisionedThroughput"]["WriteCapacityUnits"] == 12


def test_re_plan_of_prod_shows_no_changes(prod_stack: EmulatorStack) -> None:
    plan = prod_stack.stack.plan()
    assert plan.changes == []
    assert plan.exit_code == 0


def test_canary_deployment_group_rolls_back_on_the_stacks_error_and_latency_alarms(
    prod_stack: EmulatorStack,
) -> None:
    """prod.tfvars' deployment_strategy: a CodeDeploy group for the `live` alias, read back."""
    codedeploy = prod_stack.client("codedeploy")
    outputs = prod_stack.outputs
    assert (outputs["codedeploy_app_name"], outputs["codedeploy_deployment_group_name"]) == (
        PREFIX,
        f"{PREFIX}-live",
    )
    app = codedeploy.get_application(applicationName=PREFIX)["application"]
    assert app["computePlatform"] == "Lambda"
    group = codedeploy.get_deployment_group(
        applicationName=PREFIX, deploymentGroupName=f"{PREFIX}-live"
    )["deploymentGroupInfo"]
    assert group["computePlatform"] == "Lambda"
    assert group["deploymentStyle"] == {
        "deploymentType": "BLUE_GREEN",
        "deploymentOption": "WITH_TRAFFIC_CONTROL",
    }
    rollback = group["autoRollbackConfiguration"]
    assert rollback["enabled"] is True
    assert sorted(rollback["events"]) == ["DEPLOYMENT_FAILURE", "DEPLOYMENT_STOP_ON_ALARM"]
    alarms = group["alarmConfiguration"]
    assert alarms["enabled"] is True
    assert sorted(a["name"] for a in alarms["alarms"]) == [
        f"{PREFIX}-{name}"
        for name in ("api-5xx-rate", "api-latency-p99", "lambda-duration-p99", "lambda-errors")
    ]
    existing = prod_stack.client("cloudwatch").describe_alarms(
        AlarmNames=[a["name"] for a in alarms["alarms"]]
    )["MetricAlarms"]
    assert len(existing) == 4  # the stack's own alarms, not names that merely look like them

    config = codedeploy.get_deployment_config(deploymentConfigName=group["deploymentConfigName"])[
        "deploymentConfigInfo"
    ]
    assert group["deploymentConfigName"] == f"{PREFIX}-canary-10-percent-5-minutes"
    assert config["computePlatform"] == "Lambda"
    assert config["trafficRoutingConfig"] == {
        "type": "TimeBasedCanary",
        "timeBasedCanary": {"canaryPercentage": 10, "canaryInterval": 5},
    }


def test_codedeploy_may_move_only_this_alias_and_read_only_the_rollback_alarms(
    prod_stack: EmulatorStack,
) -> None:
    iam = prod_stack.client("iam")
    role = iam.get_role(RoleName=f"{PREFIX}-codedeploy")["Role"]
    [trust] = role["AssumeRolePolicyDocument"]["Statement"]
    assert trust["Principal"] == {"Service": "codedeploy.amazonaws.com"}
    assert (
        iam.list_attached_role_policies(RoleName=f"{PREFIX}-codedeploy")["AttachedPolicies"] == []
    )  # no managed policy
    policy = iam.get_role_policy(RoleName=f"{PREFIX}-codedeploy", PolicyName="shift-live-alias")
    statements = {s["Sid"]: s for s in policy["PolicyDocument"]["Statement"]}
    assert set(statements) == {"ShiftTheLiveAlias", "WatchTheRollbackAlarms"}
    shift = statements["ShiftTheLiveAlias"]
    assert sorted(shift["Action"]) == [
        "lambda:GetAlias",
        "lambda:GetProvisionedConcurrencyConfig",
        "lambda:UpdateAlias",
    ]
    assert shift["Resource"] == f"{prod_stack.outputs['function_arn']}:live"
    watch = statements["WatchTheRollbackAlarms"]
    assert watch["Action"] == "cloudwatch:DescribeAlarms"
    assert all(
        arn.startswith(f"arn:aws:cloudwatch:us-east-1:{ACCOUNT_ID}:alarm:{PREFIX}-")
        for arn in watch["Resource"]
    )
    assert len(watch["Resource"]) == 4


def test_in_canary_mode_terraform_publishes_a_version_but_leaves_the_alias_to_codedeploy(
    prod_stack: EmulatorStack,
) -> None:
    """A change that publishes a new version (another log level): the plan updates the
    function and does not touch `live`; an all_at_once stack moves it (tests/package)."""
    stack = prod_stack.stack
    stack.terraform(
        "plan",
        "-input=false",
        "-refresh=false",  # the state was just applied
        "-var=log_level=DEBUG",
        "-out=canary.tfplan",
        step="plan",
    )
    shown = json.loads(stack.terraform("show", "-json", "canary.tfplan", step="show").stdout)
    changes = {c["address"]: c["change"] for c in shown["resource_changes"]}
    assert changes["aws_lambda_function.users_api"]["actions"] == ["update"]
    assert changes["aws_lambda_function.users_api"]["after_unknown"]["version"] is True
    alias = changes["aws_lambda_alias.live_shifted[0]"]
    assert alias["actions"] == ["no-op"]
    assert alias["after"]["function_version"] == alias["before"]["function_version"] == "1"
    assert "aws_lambda_alias.live[0]" not in changes


def test_deployment_strategy_is_validated_and_gradual_types_need_the_alarms(
    prod_stack: EmulatorStack,
) -> None:
    def refused(*variables: str) -> str:
        result = prod_stack.stack.terraform(
            "plan",
            "-input=false",
            "-refresh=false",
            *(f"-var={variable}" for variable in variables),
            step="plan",
            ok_codes=(1,),
        )
        return " ".join(result.stderr.replace("│", " ").split())

    message = refused('deployment_strategy={type="blue_green", percentage=0, interval_minutes=90}')
    assert "deployment_strategy.type must be all_at_once, canary or linear." in message
    assert "deployment_strategy.percentage must be a whole number from 1 to 99." in message
    assert "deployment_strategy.interval_minutes must be a whole number from 1 to 60." in message
    message = refused('deployment_strategy={type="linear"}', "alarms_enabled=false")
    assert "A canary or linear deployment_strategy needs alarms_enabled = true" in message


# Last in this module, so after every other test of this configuration (not marked destroys_stack,
# which would hold it back until the default stack's tests are done).
def test_destroy_is_refused_while_protected_then_leaves_nothing(
    prod_stack: EmulatorStack,
) -> None:
    stack = prod_stack.stack
    with pytest.raises(StackError) as refused:
        stack.destroy(refresh=False)
    message = " ".join(str(refused.value).split())
    for table in TABLES:
        assert (
            f"Table '{PREFIX}-{table}' can't be deleted while DeletionProtectionEnabled is set "
            "to True" in message
        )
    dynamodb = prod_stack.client("dynamodb")
    assert {f"{PREFIX}-{t}" for t in TABLES} <= set(dynamodb.list_tables()["TableNames"])

    # Turn protection off (only the tables change: what `make local` does on Ctrl-C), then destroy.
    assert stack.lift_deletion_protection() is True
    assert stack.lift_deletion_protection() is False  # nothing is protected any more
    stack.destroy(refresh=False)  # the state was just refreshed by the targeted apply
    prod_stack.destroyed = True

    client = prod_stack.client
    assert [t for t in dynamodb.list_tables()["TableNames"] if t.startswith(PREFIX)] == []
    functions = client("lambda").list_functions()["Functions"]
    assert [f for f in functions if f["FunctionName"].startswith(PREFIX)] == []
    assert client("cloudwatch").describe_alarms(AlarmNamePrefix=PREFIX)["MetricAlarms"] == []
    dashboards = client("cloudwatch").list_dashboards(DashboardNamePrefix=PREFIX)
    assert dashboards["DashboardEntries"] == []
    topics = client("sns").list_topics()["Topics"]
    assert [t for t in topics if PREFIX in t["TopicArn"]] == []
    assert client("ssm").get_parameters_by_path(Path="/users-api/prod")["Parameters"] == []
    targets = client("application-autoscaling").describe_scalable_targets(
        ServiceNamespace="dynamodb"
    )["ScalableTargets"]
    assert [t for t in targets if PREFIX in t["ResourceId"]] == []
    assert client("apigatewayv2").get_domain_names()["Items"] == []
    key_id = prod_stack.outputs["kms_key_arn"].split("/")[-1]
    assert client("kms").describe_key(KeyId=key_id)["KeyMetadata"]["KeyState"] == (
        "PendingDeletion"
    )
    state = json.loads((stack.workdir / "terraform.tfstate").read_text())
    assert state["resources"] == []
