"""moto_server with small, named shims for the AWS APIs this project's Terraform needs and moto
5.2.5 lacks. tools/localaws/emulator.py runs it in place of moto_server:

    python -m tools.localaws.emulator_shims -H 127.0.0.1 -p 4566      # same arguments as
    moto_server

Each shim fills one gap, as close to AWS's documented behaviour as the provider needs, and
nothing more; `SHIMS` names them (the README's testing notes list them with the gaps that are
checked in the plan instead):

- `lambda_function_settings`: moto ignores LoggingConfig and SnapStart (and KMSKeyArn on
  UpdateFunctionConfiguration), so every plan would update the function again, and with
  `publish = true` publish a new version and move the alias. The shim stores and returns them
  (a published version reports SnapStart OptimizationStatus On, as AWS does).
- `lambda_provisioned_concurrency`: Put/Get/DeleteProvisionedConcurrencyConfig, which moto does
  not have; the configuration is READY at once (AWS takes minutes to allocate).
- `appautoscaling_tags`: ListTagsForResource/TagResource/UntagResource for Application Auto
  Scaling (the provider reads an aws_appautoscaling_target's tags), keeping the tags that
  RegisterScalableTarget was given.
- `apigatewayv2_domain_status`: moto stores a custom domain's configuration as sent, without
  the status, regional endpoint and hosted zone AWS adds (and returns an empty mutual TLS
  block AWS omits); the provider waits for AVAILABLE and the Route 53 alias needs the endpoint.
- `codedeploy_lambda_deployments`: moto has CodeDeploy's applications and deployment groups but
  no custom deployment configurations, no deletes, and returns a group's alarm configuration
  empty (and empty structures AWS omits). The shim stores Lambda traffic-routing configurations
  (Create/Get/DeleteDeploymentConfig, refusing to delete one a group uses), deletes applications
  and groups, and returns a group's alarms as created. No deployment shifts traffic here.
- `dynamodb_atomic_writes`: DynamoDB applies each write request, and each transaction, as one
  atomic step. moto checks a transaction's conditions, then writes (restoring a snapshot when one
  fails), with no lock, while moto_server answers requests on concurrent threads: two
  transactions that each put the same email record `attribute_not_exists` could both succeed.
  The shim runs each write request (and GetItem, which must not see half of a transaction)
  under one lock. tests/unit's `atomic_dynamodb` fixture installs the same shim in-process.

IAM is enforced: tools/localaws/emulator_iam.py holds those shims (the local principals, trust
policies,
and which services are evaluated resource-level and which action-level).
"""

from __future__ import annotations

import hashlib
import json
import sys
import threading
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any
from urllib.parse import unquote

from tools.localaws import emulator_iam

# us-east-1's hosted zone of regional API Gateway endpoints (AWS's documented value).
APIGATEWAY_REGIONAL_ZONE_ID = "Z1UJRXOUMOOFQ8"


def lambda_function_settings() -> None:
    from moto.awslambda.models import LambdaFunction

    original_init = LambdaFunction.__init__
    original_update = LambdaFunction.update_configuration
    original_get = LambdaFunction.get_configuration

    def init(self: Any, account_id: str, spec: dict[str, Any], *args: Any, **kwargs: Any) -> None:
        original_init(self, account_id, spec, *args, **kwargs)
        self.shim_logging_config = spec.get("LoggingConfig")
        self.shim_snap_start = (spec.get("SnapStart") or {}).get("ApplyOn", "None")

    def update_configuration(self: Any, config_updates: dict[str, Any]) -> dict[str, Any]:
        if "LoggingConfig" in config_updates:
            self.shim_logging_config = config_updates["LoggingConfig"]
        if "SnapStart" in config_updates:
            self.shim_snap_start = config_updates["SnapStart"].get("ApplyOn", "None")
        if "KMSKeyArn" in config_updates:
            self.kms_key_arn = config_updates["KMSKeyArn"] or None
        if "TracingConfig" in config_updates:
            self.tracing_config = config_updates["TracingConfig"]
        if config_updates.keys() & {"LoggingConfig", "SnapStart", "KMSKeyArn", "TracingConfig"}:
            self.code_or_config_updated = True
        return original_update(self, config_updates)  # type: ignore[no-any-return]

    def get_configuration(self: Any, on_create: bool = False) -> dict[str, Any]:
        config: dict[str, Any] = original_get(self, on_create)
        logging_config = getattr(self, "shim_logging_config", None)
        if logging_config:
            config["LoggingConfig"] = logging_config
        apply_on = getattr(self, "shim_snap_start", "None")
        published = str(self.version) != "$LATEST"
        config["SnapStart"] = {
            "ApplyOn": apply_on,
            "OptimizationStatus": "On" if apply_on != "None" and published else "Off",
        }
        return config

    LambdaFunction.__init__ = init  # type: ignore[method-assign]
    LambdaFunction.update_configuration = update_configuration  # type: ignore[method-assign]
    LambdaFunction.get_configuration = get_configuration  # type: ignore[method-assign]


def lambda_provisioned_concurrency() -> None:
    from moto.awslambda import urls
    from moto.awslambda.responses import LambdaResponse

    configs: dict[tuple[str, str, str, str], dict[str, Any]] = {}
    path = (
        r"{0}/(?P<api_version>[^/]+)/functions/(?P<function_name>[\w_:%-]+)"
        r"/provisioned-concurrency/?$"
    )
    urls.url_paths[path] = LambdaResponse.dispatch

    def key(response: Any) -> tuple[str, str, str, str]:
        name = unquote(response.path.rstrip("/").rsplit("/", 2)[-2])
        qualifier = response.querystring.get("Qualifier", [""])[0]
        function = response.backend.get_function(name, qualifier)  # 404 for an unknown one
        return (response.current_account, response.region, function.function_name, qualifier)

    def put_provisioned_concurrency_config(self: Any) -> tuple[int, dict[str, str], str]:
        requested = int(self._get_param("ProvisionedConcurrentExecutions"))
        config = {
            "RequestedProvisionedConcurrentExecutions": requested,
            "AvailableProvisionedConcurrentExecutions": requested,
            "AllocatedProvisionedConcurrentExecutions": requested,
            "Status": "READY",
            "LastModified": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.000+0000"),
        }
        configs[key(self)] = config
        return 202, {}, json.dumps(config)

    def get_provisioned_concurrency_config(self: Any) -> tuple[int, dict[str, str], str]:
        config = configs.get(key(self))
        if config is None:
            error = {
                "Type": "User",
                "Message": "No Provisioned Concurrency Config found for this function",
            }
            headers = {"x-amzn-errortype": "ProvisionedConcurrencyConfigNotFoundException"}
            return 404, headers, json.dumps(error)
        return 200, {}, json.dumps(config)

    def delete_provisioned_concurrency_config(self: Any) -> tuple[int, dict[str, str], str]:
        configs.pop(key(self), None)
        return 204, {}, ""

    LambdaResponse.put_provisioned_concurrency_config = put_provisioned_concurrency_config  # type: ignore[attr-defined]
    LambdaResponse.get_provisioned_concurrency_config = get_provisioned_concurrency_config  # type: ignore[attr-defined]
    LambdaResponse.delete_provisioned_concurrency_config = delete_provisioned_concurrency_config  # type: ignore[attr-defined]


def appautoscaling_tags() -> None:
    from moto.applicationautoscaling.responses import ApplicationAutoScalingResponse

    tags: dict[str, dict[str, str]] = {}
    original_register = ApplicationAutoScalingResponse.register_scalable_target

    def register_scalable_target(self: Any) -> str:
        body: str = original_register(self)
        arn = json.loads(body)["ScalableTargetARN"]
        tags.setdefault(arn, {}).update(self._get_param("Tags") or {})
        return body

    def list_tags_for_resource(self: Any) -> str:
        return json.dumps({"Tags": tags.get(self._get_param("ResourceARN"), {})})

    def tag_resource(self: Any) -> str:
        tags.setdefault(self._get_param("ResourceARN"), {}).update(self._get_param("Tags") or {})
        return "{}"

    def untag_resource(self: Any) -> str:
        current = tags.get(self._get_param("ResourceARN"), {})
        for name in self._get_param("TagKeys") or []:
            current.pop(name, None)
        return "{}"

    ApplicationAutoScalingResponse.register_scalable_target = register_scalable_target  # type: ignore[method-assign]
    ApplicationAutoScalingResponse.list_tags_for_resource = list_tags_for_resource  # type: ignore[attr-defined]
    ApplicationAutoScalingResponse.tag_resource = tag_resource  # type: ignore[attr-defined]
    ApplicationAutoScalingResponse.untag_resource = untag_resource  # type: ignore[attr-defined]


def apigatewayv2_domain_status() -> None:
    from moto.apigatewayv2.models import DomainName

    original_to_json = DomainName.to_json

    def to_json(self: Any) -> dict[str, Any]:
        data: dict[str, Any] = original_to_json(self)
        digest = hashlib.sha256(self.domain_name.encode()).hexdigest()[:10]
        region = self.domain_name_arn.split(":")[3]
        data["domainNameConfigurations"] = [
            {
                "apiGatewayDomainName": f"d-{digest}.execute-api.{region}.amazonaws.com",
                "domainNameStatus": "AVAILABLE",
                "endpointType": "REGIONAL",
                "hostedZoneId": APIGATEWAY_REGIONAL_ZONE_ID,
                "securityPolicy": "TLS_1_2",
                **configuration,
            }
            for configuration in self.domain_name_configurations
        ]
        if not data.get("mutualTlsAuthentication"):
            data.pop("mutualTlsAuthentication", None)  # AWS omits it when unset
        return data

    DomainName.to_json = to_json  # type: ignore[method-assign]


def codedeploy_lambda_deployments() -> None:
    import uuid

    from moto.codedeploy import responses
    from moto.codedeploy.responses import CodeDeployResponse
    from moto.core.exceptions import JsonRESTError

    original_group_info = responses._deployment_group_info

    def group_info(group: Any) -> dict[str, Any]:
        # AWS omits unset structures (an empty loadBalancerInfo reads as a configured block).
        info = {k: v for k, v in original_group_info(group).items() if v != {}}
        info["alarmConfiguration"] = group.alarm_configuration or {
            "enabled": False,
            "alarms": [],
        }
        return info

    def configs(self: Any) -> dict[str, dict[str, Any]]:
        backend = self.codedeploy_backend
        if not hasattr(backend, "shim_deployment_configs"):
            backend.shim_deployment_configs = {}
        return backend.shim_deployment_configs  # type: ignore[no-any-return]

    def create_deployment_config(self: Any) -> str:
        name = self._get_param("deploymentConfigName")
        if name in configs(self):
            raise JsonRESTError("DeploymentConfigAlreadyExistsException", f"{name} already exists.")
        configs(self)[name] = {
            "deploymentConfigId": str(uuid.uuid4()),
            "deploymentConfigName": name,
            "computePlatform": self._get_param("computePlatform") or "Server",
            "trafficRoutingConfig": self._get_param("trafficRoutingConfig") or {},
            "createTime": datetime.now(UTC).timestamp(),
        }
        return json.dumps({"deploymentConfigId": configs(self)[name]["deploymentConfigId"]})

    def get_deployment_config(self: Any) -> str:
        name = self._get_param("deploymentConfigName")
        if name not in configs(self):
            raise JsonRESTError("DeploymentConfigDoesNotExistException", f"{name} does not exist.")
        return json.dumps({"deploymentConfigInfo": configs(self)[name]})

    def delete_deployment_config(self: Any) -> str:
        name = self._get_param("deploymentConfigName")
        groups = self.codedeploy_backend.deployment_groups.values()
        if any(g.deployment_config_name == name for app in groups for g in app.values()):
            raise JsonRESTError("DeploymentConfigInUseException", f"{name} is in use.")
        configs(self).pop(name, None)
        return "{}"

    def delete_deployment_group(self: Any) -> str:
        groups = self.codedeploy_backend.deployment_groups
        groups.get(self._get_param("applicationName"), {}).pop(
            self._get_param("deploymentGroupName"), None
        )
        return json.dumps({"hooksNotCleanedUp": []})

    def delete_application(self: Any) -> str:
        name = self._get_param("applicationName")
        self.codedeploy_backend.deployment_groups.pop(name, None)
        self.codedeploy_backend.applications.pop(name, None)
        return "{}"

    responses._deployment_group_info = group_info
    CodeDeployResponse.create_deployment_config = create_deployment_config  # type: ignore[attr-defined]
    CodeDeployResponse.get_deployment_config = get_deployment_config  # type: ignore[attr-defined]
    CodeDeployResponse.delete_deployment_config = delete_deployment_config  # type: ignore[attr-defined]
    CodeDeployResponse.delete_deployment_group = delete_deployment_group  # type: ignore[attr-defined]
    CodeDeployResponse.delete_application = delete_application  # type: ignore[attr-defined]


# The requests DynamoDB applies atomically that moto applies in steps (see dynamodb_atomic_writes).
DYNAMODB_ATOMIC_OPERATIONS = (
    "put_item",
    "update_item",
    "delete_item",
    "transact_write_items",
    "get_item",
)


def dynamodb_atomic_writes() -> Callable[[], None]:
    """Serialise moto's DynamoDB writes as DynamoDB does; returns the function that undoes it."""
    from moto.dynamodb.models import DynamoDBBackend

    lock = threading.RLock()
    originals = {name: getattr(DynamoDBBackend, name) for name in DYNAMODB_ATOMIC_OPERATIONS}

    def atomic(original: Callable[..., Any]) -> Callable[..., Any]:
        def locked(self: Any, *args: Any, **kwargs: Any) -> Any:
            with lock:
                return original(self, *args, **kwargs)

        return locked

    for name, original in originals.items():
        setattr(DynamoDBBackend, name, atomic(original))

    def undo() -> None:
        for name, original in originals.items():
            setattr(DynamoDBBackend, name, original)

    return undo


SHIMS: dict[str, Callable[[], object]] = {
    shim.__name__: shim
    for shim in (
        lambda_function_settings,
        lambda_provisioned_concurrency,
        appautoscaling_tags,
        apigatewayv2_domain_status,
        codedeploy_lambda_deployments,
        dynamodb_atomic_writes,
        *emulator_iam.SHIMS,
    )
}


def install() -> None:
    """Apply every shim to the moto in this process (before the server builds its apps)."""
    for shim in SHIMS.values():
        shim()


def main(argv: list[str] | None = None) -> None:
    from moto.server import main as moto_server

    install()
    moto_server(argv if argv is not None else sys.argv[1:])


if __name__ == "__main__":
    main()
