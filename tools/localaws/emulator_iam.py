"""IAM enforcement in the emulator: who the local credentials are, and what moto 5.2.5 cannot name.

tools/localaws/emulator.py starts moto_server with INITIAL_NO_AUTH_ACTION_COUNT=0, so from the
first request
every call is signed by a known principal and judged by that principal's IAM policies. moto checks
the action everywhere; these named shims (installed by tools/localaws/emulator_shims.py) fill the
gaps:

- `iam_principals`: two IAM users exist from the start. `test` (keys `test`/`test`, the documented
  credentials of `make local`) has an inline `Action: *, Resource: *` policy: an administrator, so
  a person's curl, boto3 and the Terraform of the tests keep working. `lambda.amazonaws.com` (keys
  `local-lambda-service`/`local-lambda-service`) stands in for the Lambda service: it may only call
  sts:AssumeRole, and only roles whose trust policy names the Service principal
  `lambda.amazonaws.com` let it in (`iam_trust_principals`). tools/localaws/runtime.py uses it to
  get the
  function's execution-role credentials, as Lambda does. Any other access key is refused
  (InvalidClientTokenId); AWS has no such users, they are this emulator's stand-ins.
- `iam_signature_of_empty_bodies`: moto checks the signature of a request without a body (a REST
  GET, DELETE such as Lambda's GetFunction from the Terraform provider) over its parsed parameters
  instead of the empty payload that was signed, and refuses it; the shim signs the empty body.
- `iam_trust_principals`: moto compares a trust policy's principal only with `AWS` principals and
  fails with a server error on a `Service` or `Federated` one. The shim matches `AWS` principals by
  ARN, by account root and `*`, a `Service` principal by its stand-in user above, and never a
  `Federated` one through AssumeRole (a statement that does not name the caller is neutral).
- `dynamodb_resource_level`: moto evaluates every DynamoDB request against resource `*`, which no
  ARN-scoped statement matches. The shim names the table and index ARNs a request touches
  (`TableName` + `IndexName`, `ResourceArn`, every table of `RequestItems` and `TransactItems`)
  and checks each, with the action IAM uses for it: TransactWriteItems is authorised as PutItem /
  UpdateItem / DeleteItem / ConditionCheckItem per item, TransactGetItems as GetItem, as AWS does.
  A refusal is DynamoDB's own 400 AccessDeniedException.
- `iam_action_prefixes`: moto names an action after the service's signing name; CloudWatch signs
  as `monitoring` but its IAM actions are `cloudwatch:*`.
- `iam_wildcards`: moto reads a policy's `*` as a regex and its `?` as a regex quantifier (so
  `/apis/??????????` fails); the shim matches IAM's wildcards: `*` any run, `?` one character.
- `apigateway_http_verbs`: API Gateway's IAM actions are HTTP verbs on resource paths
  (`apigateway:POST` on `arn:aws:apigateway:<region>::/apis`); moto checks its operation names
  (`apigateway:CreateApi`) on `*`. The shim checks the verb on the path's ARN, resource-level.
- `apigatewayv2_api_ids`: an HTTP API's id is 10 characters on AWS (bootstrap/'s deploy roles
  rely on it: `/apis/??????????`), 8 in moto; the shim gives APIs AWS's length.
- `iam_permissions_boundaries`: moto ignores a role's permissions boundary; the shim also
  requires the boundary policy to allow what an assumed role does, as AWS does.
- `iam_action_level_elsewhere`: where moto cannot name the resource (it evaluates `*`), any
  statement's `Resource` matches, so the check is action-level instead of always failing.

Resource-level (the policy's `Resource` is compared with the real ARN): DynamoDB and API Gateway's
HTTP APIs (these shims), IAM operations on an existing role (`RoleName`), STS AssumeRole (the
role), S3 (bucket/key) and SQS (an existing queue). Action-level (any `Resource` matches): every
other service and operation -- Lambda, CloudWatch Logs and alarms, KMS, SSM, SNS, Application
Auto Scaling, X-Ray, Cognito, IAM operations without a role (CreateRole, policies, OIDC
providers) and SQS CreateQueue. moto
ignores `NotResource` and most `Condition` blocks (only `StringEquals` on `sts:ExternalId` in trust
policies is evaluated): a condition never narrows an Allow, and a Deny with a condition always
applies.
"""

from __future__ import annotations

import json
from typing import Any

from tools.localaws.emulator import ACCESS_KEY_ID, ACCOUNT_ID, SECRET_ACCESS_KEY

ADMINISTRATOR = "test"
# The Lambda service's stand-in: only tools/localaws/runtime.py uses these keys, to assume
# execution roles.
LAMBDA_SERVICE = "lambda.amazonaws.com"
LAMBDA_SERVICE_KEY = "local-lambda-service"
# What `resource` is when moto could not name it (see iam_action_level_elsewhere).
ANY_RESOURCE = "\x00any-resource"
# How IAM authorises the items of a transaction (per item, per table).
TRANSACT_ITEM_ACTIONS = {
    "Put": "PutItem",
    "Update": "UpdateItem",
    "Delete": "DeleteItem",
    "ConditionCheck": "ConditionCheckItem",
    "Get": "GetItem",
}


def _as_list(value: Any) -> list[str]:
    if value is None:
        return []
    return [value] if isinstance(value, str) else list(value)


def service_principal_arn(service: str, account_id: str = ACCOUNT_ID) -> str:
    """The ARN of the IAM user that stands in for an AWS service principal."""
    return f"arn:aws:iam::{account_id}:user/{service}"


def iam_principals() -> None:
    from moto.iam.models import iam_backends

    iam = iam_backends[ACCOUNT_ID]["aws"]
    users = (
        (ADMINISTRATOR, ACCESS_KEY_ID, SECRET_ACCESS_KEY, "*", "*"),
        (LAMBDA_SERVICE, LAMBDA_SERVICE_KEY, LAMBDA_SERVICE_KEY, "sts:AssumeRole", "*"),
    )
    for name, key_id, secret, action, resource in users:
        user = iam.create_user(region_name="us-east-1", user_name=name)
        policy = {"Version": "2012-10-17", "Statement": [
            {"Sid": "EmulatorStandIn", "Effect": "Allow", "Action": action, "Resource": resource}
        ]}  # fmt: skip
        iam.put_user_policy(name, "emulator", json.dumps(policy))
        key = iam.create_access_key(name)
        del iam.access_keys[key.physical_resource_id]
        key.access_key_id, key.secret_access_key = key_id, secret
        iam.access_keys[key.physical_resource_id] = key
        assert user.access_keys == [key]


def _principal_matches(expected: Any, caller_arn: str) -> bool:
    if expected == "*":
        return True
    if not isinstance(expected, dict):
        return False
    account = caller_arn.split(":")[4]
    aws = _as_list(expected.get("AWS"))
    if {"*", caller_arn, account, f"arn:aws:iam::{account}:root"} & set(aws):
        return True
    services = _as_list(expected.get("Service"))
    return any(caller_arn == service_principal_arn(service, account) for service in services)


def iam_trust_principals() -> None:
    from moto.iam.access_control import IAMPolicyStatement, PermissionResult

    original = IAMPolicyStatement.is_action_permitted

    def is_action_permitted(
        self: Any,
        action: str,
        resource: str = "*",
        principal: str | None = None,
        incoming_condition_values: dict[str, str] | None = None,
    ) -> PermissionResult:
        statement = self._statement
        if principal is not None and "Principal" in statement:
            if not _principal_matches(statement["Principal"], principal):
                return PermissionResult.NEUTRAL
            principal = None  # matched; moto's own check knows only AWS principals
        return original(self, action, resource, principal, incoming_condition_values)

    IAMPolicyStatement.is_action_permitted = is_action_permitted  # type: ignore[method-assign]


def iam_signature_of_empty_bodies() -> None:
    from moto.iam.access_control import IAMRequestBase

    original = IAMRequestBase._create_aws_request

    def create_aws_request(self: Any) -> Any:
        request = original(self)
        if not self._body and self._method != "POST":  # a POST's form is its parsed parameters
            request.data = b""  # moto signs its parsed parameters (here: the headers) instead
        return request

    IAMRequestBase._create_aws_request = create_aws_request  # type: ignore[method-assign]


def iam_permissions_boundaries() -> None:
    from moto.iam.access_control import (
        AssumedRoleAccessKey,
        IAMPolicy,
        IAMRequestBase,
        PermissionResult,
    )

    original = IAMRequestBase.check_action_permitted

    def check_action_permitted(self: Any, resource: str) -> None:
        original(self, resource)
        key = self._access_key
        if not isinstance(key, AssumedRoleAccessKey) or self._action == "sts:GetCallerIdentity":
            return
        boundary = self.backend.get_role(key._owner_role_name).permissions_boundary_arn
        if boundary is None:
            return
        result = IAMPolicy(self.backend.get_policy(boundary)).is_action_permitted(
            self._action, resource
        )
        if result != PermissionResult.PERMITTED:
            self._raise_access_denied()

    IAMRequestBase.check_action_permitted = check_action_permitted  # type: ignore[method-assign]


def iam_action_level_elsewhere() -> None:
    from moto.core.authorization import ActionAuthenticatorMixin
    from moto.iam.access_control import IAMPolicyStatement

    original_authorize = ActionAuthenticatorMixin._authenticate_and_authorize_normal_action
    original_matches = IAMPolicyStatement._check_element_matches

    def authorize(self: Any, resource: str = "*") -> None:
        original_authorize(self, ANY_RESOURCE if resource == "*" else resource)

    def matches(self: Any, element: str, value: str) -> bool:
        if value == ANY_RESOURCE:
            return element == "Resource"
        return bool(original_matches(self, element, value))

    ActionAuthenticatorMixin._authenticate_and_authorize_normal_action = authorize  # type: ignore[method-assign]
    IAMPolicyStatement._check_element_matches = matches  # type: ignore[method-assign]


# Services whose SigV4 signing name is not their IAM action prefix.
IAM_PREFIXES = {"monitoring": "cloudwatch"}


def iam_action_prefixes() -> None:
    from moto.iam.access_control import IAMRequestBase

    original = IAMRequestBase.__init__

    def init(self: Any, *args: Any, **kwargs: Any) -> None:
        original(self, *args, **kwargs)
        service, _, action = self._action.partition(":")
        self._action = f"{IAM_PREFIXES.get(service, service)}:{action}"

    IAMRequestBase.__init__ = init  # type: ignore[method-assign]


def iam_wildcards() -> None:
    import re

    from moto.iam.access_control import IAMPolicyStatement

    def match(pattern: str, string: str) -> re.Match[str] | None:
        # IAM's wildcards: `*` any run of characters, `?` exactly one; nothing else is special.
        regex = "".join(
            ".*" if char == "*" else "." if char == "?" else re.escape(char) for char in pattern
        )
        return re.match(f"^{regex}$", string, re.DOTALL)

    IAMPolicyStatement._match = staticmethod(match)  # type: ignore[method-assign,assignment]


def apigatewayv2_api_ids() -> None:
    import random
    import string

    from moto.apigatewayv2.models import Api

    original = Api.__init__

    def init(self: Any, region: str, *args: Any, **kwargs: Any) -> None:
        original(self, region, *args, **kwargs)
        alphabet = string.ascii_lowercase + string.digits
        self.api_id = "".join(random.choice(alphabet) for _ in range(10))
        self.api_endpoint = f"https://{self.api_id}.execute-api.{region}.amazonaws.com"

    Api.__init__ = init  # type: ignore[method-assign]


def apigateway_http_verbs() -> None:
    from moto.apigatewayv2.responses import ApiGatewayV2Response
    from moto.core.authorization import ActionAuthenticatorMixin
    from moto.iam.access_control import IAMRequest

    def authorize(self: Any, resource: str = "*") -> None:
        path = self.path.removeprefix("/v2")
        arn = f"arn:aws:apigateway:{self.region}::{path}"
        ActionAuthenticatorMixin._authenticate_and_authorize_action(
            self, _contained(IAMRequest, self.method), arn
        )

    ApiGatewayV2Response._authenticate_and_authorize_normal_action = authorize  # type: ignore[method-assign]


def dynamodb_requests(
    action: str, body: dict[str, Any], region: str, account_id: str
) -> list[tuple[str, str]]:
    """The (IAM action, resource ARN) pairs one DynamoDB request is authorised as."""

    def table(name: str) -> str:
        if name.startswith("arn:"):
            return name
        return f"arn:aws:dynamodb:{region}:{account_id}:table/{name}"

    if action in ("TransactWriteItems", "TransactGetItems"):
        return [
            (TRANSACT_ITEM_ACTIONS[kind], table(operation["TableName"]))
            for item in body.get("TransactItems") or []
            for kind, operation in item.items()
        ]
    if action in ("BatchGetItem", "BatchWriteItem"):
        return [(action, table(name)) for name in body.get("RequestItems") or {}]
    if "TableName" in body:
        arn = table(body["TableName"])
        if body.get("IndexName"):
            arn += f"/index/{body['IndexName']}"
        return [(action, arn)]
    if "ResourceArn" in body:
        return [(action, body["ResourceArn"])]
    return [(action, "*")]  # ListTables, DescribeLimits...: AWS's resource is "*" too


def _contained(request_class: type, action: str) -> type:
    """moto's IAM request for one action of a DynamoDB request (e.g. a transaction's PutItem)."""

    class Contained(request_class):  # type: ignore[misc,valid-type]
        def __init__(self, **kwargs: Any) -> None:
            super().__init__(**{**kwargs, "action": action})

    return Contained


def dynamodb_resource_level() -> None:
    from moto.core.authorization import ActionAuthenticatorMixin
    from moto.core.exceptions import AccessDeniedError, JsonRESTError
    from moto.dynamodb.responses import DynamoHandler
    from moto.iam.access_control import IAMRequest

    class AccessDeniedException(JsonRESTError):
        code = 400

    def authorize(self: Any, resource: str = "*") -> None:
        body = self.body if isinstance(self.body, dict) else {}
        checks = dynamodb_requests(self._get_action(), body, self.region, self.current_account)
        for action, arn in checks:
            try:
                ActionAuthenticatorMixin._authenticate_and_authorize_action(
                    self, _contained(IAMRequest, action), arn
                )
            except AccessDeniedError as denied:
                raise AccessDeniedException(
                    "com.amazonaws.dynamodb.v20120810#AccessDeniedException",
                    f"{denied.message} on resource: {arn}",
                ) from None

    DynamoHandler._authenticate_and_authorize_normal_action = authorize  # type: ignore[method-assign]


SHIMS = (
    iam_principals,
    iam_action_prefixes,
    iam_wildcards,
    apigatewayv2_api_ids,
    apigateway_http_verbs,
    iam_signature_of_empty_bodies,
    iam_trust_principals,
    iam_permissions_boundaries,
    iam_action_level_elsewhere,
    dynamodb_resource_level,
)
