"""moto_server with small, named shims for the AWS APIs this project's Terraform needs and moto
5.2.5 lacks. tools/emulator.py runs it in place of moto_server:

    python -m tools.emulator_shims -H 127.0.0.1 -p 4566      # same arguments as moto_server

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

IAM is enforced: tools/emulator_iam.py holds those shims (the local principals, trust policies,
and which services are evaluated resource-level and which action-level).
"""

from __future__ import annotations

import hashlib
import json
import sys
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any
from urllib.parse import unquote

from tools import emulator_iam

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


SHIMS: dict[str, Callable[[], None]] = {
    shim.__name__: shim
    for shim in (
        lambda_function_settings,
        lambda_provisioned_concurrency,
        appautoscaling_tags,
        apigatewayv2_domain_status,
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
