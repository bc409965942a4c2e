# Who may change what: GitHub Actions, through OIDC, as one role per environment (apply, behind
# that GitHub environment's protection rules) and one read-only role for pull-request plans.

locals {
  github_oidc_host         = "token.actions.githubusercontent.com"
  github_oidc_provider_arn = coalesce(var.github_oidc_provider_arn, one(aws_iam_openid_connect_provider.github[*].arn))

  # The main stack names everything "<name>-<environment>-..." (local.prefix there).
  stack_prefixes = { for env in var.environments : env => "${var.name}-${env}" }

  # The pipeline's own roles and the function boundary are named outside "<name>-<env>-*", so a
  # deploy role can never touch them through its own grants.
  deploy_role_names   = { for env in var.environments : env => "${var.name}-github-${env}-deploy" }
  plan_role_name      = "${var.name}-github-plan"
  boundary_policy_arn = { for env in var.environments : env => "arn:${local.partition}:iam::${local.account_id}:policy/${var.name}-github-${env}-function-boundary" }

  arn_region = "${local.partition}:%s:${local.region}:${local.account_id}"
}

# --- GitHub's identity provider -----------------------------------------------------------------

# IAM trusts GitHub's OIDC endpoint through its own CA library, so no thumbprint is pinned here.
resource "aws_iam_openid_connect_provider" "github" {
  count = var.github_oidc_provider_arn == null ? 1 : 0

  url            = "https://${local.github_oidc_host}"
  client_id_list = ["sts.amazonaws.com"]
}

data "aws_iam_policy_document" "deploy_trust" {
  for_each = toset(var.environments)

  statement {
    sid     = "GitHubEnvironment${title(each.key)}"
    actions = ["sts:AssumeRoleWithWebIdentity"]

    principals {
      type        = "Federated"
      identifiers = [local.github_oidc_provider_arn]
    }

    condition {
      test     = "StringEquals"
      variable = "${local.github_oidc_host}:aud"
      values   = ["sts.amazonaws.com"]
    }

    # Only a job that declares `environment: <env>` gets this subject, so the environment's
    # protection rules (required reviewers, deployment branches) gate the role.
    condition {
      test     = "StringEquals"
      variable = "${local.github_oidc_host}:sub"
      values   = ["repo:${var.github_repository}:environment:${each.key}"]
    }
  }
}

data "aws_iam_policy_document" "plan_trust" {
  statement {
    sid     = "GitHubPullRequests"
    actions = ["sts:AssumeRoleWithWebIdentity"]

    principals {
      type        = "Federated"
      identifiers = [local.github_oidc_provider_arn]
    }

    condition {
      test     = "StringEquals"
      variable = "${local.github_oidc_host}:aud"
      values   = ["sts.amazonaws.com"]
    }

    # Pull requests from forks get no OIDC token; this is a branch of the repository itself.
    condition {
      test     = "StringEquals"
      variable = "${local.github_oidc_host}:sub"
      values   = ["repo:${var.github_repository}:pull_request"]
    }
  }
}

# --- Deploy roles: read and write this environment's stack and its state ----------------------

data "aws_iam_policy_document" "deploy" {
  for_each = local.deploy_scopes

  statement {
    sid       = "ListStateBucket"
    actions   = ["s3:ListBucket"]
    resources = [aws_s3_bucket.state.arn]
  }

  statement {
    sid       = "ReadWriteOwnState"
    actions   = ["s3:GetObject", "s3:PutObject"]
    resources = ["${aws_s3_bucket.state.arn}/${local.deploy_state_keys[each.key]}"]
  }

  # use_lockfile: the lock is an object written with If-None-Match next to the state, then deleted.
  statement {
    sid       = "LockOwnState"
    actions   = ["s3:DeleteObject", "s3:GetObject", "s3:PutObject"]
    resources = ["${aws_s3_bucket.state.arn}/${local.deploy_state_keys[each.key]}.tflock"]
  }

  statement {
    sid = "ManageTables"
    actions = [
      "dynamodb:CreateTable",
      "dynamodb:DeleteTable",
      "dynamodb:DescribeContinuousBackups",
      "dynamodb:DescribeTable",
      "dynamodb:DescribeTimeToLive",
      "dynamodb:ListTagsOfResource",
      "dynamodb:TagResource",
      "dynamodb:UntagResource",
      "dynamodb:UpdateContinuousBackups",
      "dynamodb:UpdateTable",
      "dynamodb:UpdateTimeToLive",
    ]
    resources = ["arn:${format(local.arn_region, "dynamodb")}:table/${each.value}-*"]
  }

  # A table encrypted with the AWS managed key: the provider resolves alias/aws/dynamodb to tell
  # it from a customer key. DescribeKey is authorised on the key ARN, which is random.
  statement {
    sid       = "DescribeDynamoDbManagedKey"
    actions   = ["kms:DescribeKey"]
    resources = ["arn:${format(local.arn_region, "kms")}:key/*"]

    condition {
      test     = "ForAnyValue:StringEquals"
      variable = "kms:ResourceAliases"
      values   = ["alias/aws/dynamodb"]
    }
  }

  statement {
    sid = "ManageFunction"
    actions = [
      "lambda:AddPermission",
      "lambda:CreateFunction",
      "lambda:DeleteFunction",
      "lambda:DeleteFunctionConcurrency",
      "lambda:GetFunction",
      "lambda:GetFunctionCodeSigningConfig",
      "lambda:GetFunctionConfiguration",
      "lambda:GetPolicy",
      "lambda:GetRuntimeManagementConfig",
      "lambda:ListTags",
      "lambda:ListVersionsByFunction",
      "lambda:PublishVersion",
      "lambda:PutFunctionConcurrency",
      "lambda:RemovePermission",
      "lambda:TagResource",
      "lambda:UntagResource",
      "lambda:UpdateFunctionCode",
      "lambda:UpdateFunctionConfiguration",
    ]
    resources = [
      "arn:${format(local.arn_region, "lambda")}:function:${each.value}",
      "arn:${format(local.arn_region, "lambda")}:function:${each.value}:*",
      "arn:${format(local.arn_region, "lambda")}:function:${each.value}-*",
    ]
  }

  # The `live` alias API Gateway invokes (every environment) and its provisioned concurrency
  # (prod): both are addressed as <function>:<qualifier>.
  statement {
    sid = "ManageLiveAliasAndItsConcurrency"
    actions = [
      "lambda:CreateAlias",
      "lambda:DeleteAlias",
      "lambda:DeleteProvisionedConcurrencyConfig",
      "lambda:GetAlias",
      "lambda:GetProvisionedConcurrencyConfig",
      "lambda:PutProvisionedConcurrencyConfig",
      "lambda:UpdateAlias",
    ]
    resources = [
      "arn:${format(local.arn_region, "lambda")}:function:${each.value}:*",
      "arn:${format(local.arn_region, "lambda")}:function:${each.value}-*:*",
    ]
  }

  statement {
    sid = "ReadAndTagFunctionRoles"
    actions = [
      "iam:DeleteRole",
      "iam:GetRole",
      "iam:GetRolePolicy",
      "iam:ListAttachedRolePolicies",
      "iam:ListInstanceProfilesForRole",
      "iam:ListRolePolicies",
      "iam:TagRole",
      "iam:UntagRole",
      "iam:UpdateAssumeRolePolicy",
      "iam:UpdateRole",
      "iam:UpdateRoleDescription",
    ]
    resources = ["arn:${local.partition}:iam::${local.account_id}:role/${each.value}-*"]
  }

  # A role this pipeline creates can never hold more than the function boundary allows, whatever
  # inline policy it is given: without this, "create a role, pass it to a function" is admin.
  statement {
    sid = "WriteFunctionRolesWithinBoundary"
    actions = [
      "iam:CreateRole",
      "iam:DeleteRolePolicy",
      "iam:PutRolePolicy",
    ]
    resources = ["arn:${local.partition}:iam::${local.account_id}:role/${each.value}-*"]

    condition {
      test     = "StringEquals"
      variable = "iam:PermissionsBoundary"
      values   = [local.deploy_boundary_arns[each.key]]
    }
  }

  statement {
    sid       = "PassFunctionRolesToLambda"
    actions   = ["iam:PassRole"]
    resources = ["arn:${local.partition}:iam::${local.account_id}:role/${each.value}-*"]

    condition {
      test     = "StringEquals"
      variable = "iam:PassedToService"
      values   = ["lambda.amazonaws.com"]
    }
  }

  statement {
    sid = "ManageLogGroups"
    actions = [
      "logs:CreateLogGroup",
      "logs:DeleteLogGroup",
      "logs:DeleteRetentionPolicy",
      "logs:ListTagsForResource",
      "logs:ListTagsLogGroup",
      "logs:PutRetentionPolicy",
      "logs:TagLogGroup",
      "logs:TagResource",
      "logs:UntagLogGroup",
      "logs:UntagResource",
    ]
    resources = [
      "arn:${format(local.arn_region, "logs")}:log-group:/aws/lambda/${each.value}",
      "arn:${format(local.arn_region, "logs")}:log-group:/aws/lambda/${each.value}:*",
      "arn:${format(local.arn_region, "logs")}:log-group:/aws/lambda/${each.value}-*",
      "arn:${format(local.arn_region, "logs")}:log-group:/aws/apigateway/${each.value}/*",
    ]
  }

  # DescribeLogGroups is a list action: it is authorised on every log group of the region.
  statement {
    sid       = "ListLogGroups"
    actions   = ["logs:DescribeLogGroups"]
    resources = ["arn:${format(local.arn_region, "logs")}:log-group:*"]
  }

  # The stage's access logs: API Gateway sets up the delivery with the caller's rights, and these
  # log-delivery actions support no resource-level permissions (AWS: "Resource": "*"). Scoped to
  # the stack's region.
  statement {
    sid = "DeliverHttpApiAccessLogs"
    actions = [
      "logs:CreateLogDelivery",
      "logs:DeleteLogDelivery",
      "logs:DescribeResourcePolicies",
      "logs:GetLogDelivery",
      "logs:ListLogDeliveries",
      "logs:PutResourcePolicy",
      "logs:UpdateLogDelivery",
    ]
    resources = ["*"]

    condition {
      test     = "StringEquals"
      variable = "aws:RequestedRegion"
      values   = [local.region]
    }
  }

  # HTTP API ids are random, so no ARN carries the stack's name: the API is created only with the
  # stack's Project/Environment tags and changed or deleted only while it still has them.
  statement {
    sid       = "CreateHttpApiWithStackTags"
    actions   = ["apigateway:POST"]
    resources = ["arn:${local.partition}:apigateway:${local.region}::/apis"]

    condition {
      test     = "StringEquals"
      variable = "aws:RequestTag/Project"
      values   = [var.name]
    }

    condition {
      test     = "StringLike"
      variable = "aws:RequestTag/Environment"
      values   = [each.key]
    }
  }

  # "??????????": an HTTP API id is exactly 10 characters, so this is the API itself, not a child.
  statement {
    sid       = "ChangeOwnHttpApi"
    actions   = ["apigateway:DELETE", "apigateway:GET", "apigateway:PATCH", "apigateway:PUT"]
    resources = ["arn:${local.partition}:apigateway:${local.region}::/apis/??????????"]

    condition {
      test     = "StringLike"
      variable = "aws:ResourceTag/Environment"
      values   = [each.key]
    }

    condition {
      test     = "StringEquals"
      variable = "aws:ResourceTag/Project"
      values   = [var.name]
    }
  }

  # Routes, integrations, stages and deployments: routes and integrations cannot be tagged and
  # HTTP APIs (API Gateway V2) pass no tags down for ABAC, so these are scoped to the region's
  # HTTP APIs only. Use one account per environment where that is not enough.
  statement {
    sid = "ManageHttpApiChildren"
    actions = [
      "apigateway:DELETE",
      "apigateway:GET",
      "apigateway:PATCH",
      "apigateway:POST",
      "apigateway:PUT",
    ]
    resources = ["arn:${local.partition}:apigateway:${local.region}::/apis/??????????/*"]
  }

  statement {
    sid       = "TagHttpApis"
    actions   = ["apigateway:DELETE", "apigateway:GET", "apigateway:POST"]
    resources = ["arn:${local.partition}:apigateway:${local.region}::/tags/*"]

    # Only this environment's API, and it stays this environment's: no re-tagging another
    # environment's API into reach of ChangeOwnHttpApi.
    condition {
      test     = "StringLike"
      variable = "aws:ResourceTag/Environment"
      values   = [each.key]
    }

    condition {
      test     = "StringLikeIfExists"
      variable = "aws:RequestTag/Environment"
      values   = [each.key]
    }
  }

  # PROVISIONED tables (prod): auto scaling of their capacity. Scalable targets and policies are
  # addressed by random ids, so registering is scoped to the region's DynamoDB targets and the
  # list actions, which support no resource-level permissions, to the region.
  statement {
    sid = "ScaleTableCapacity"
    actions = [
      "application-autoscaling:DeleteScalingPolicy",
      "application-autoscaling:DeregisterScalableTarget",
      "application-autoscaling:ListTagsForResource",
      "application-autoscaling:PutScalingPolicy",
      "application-autoscaling:RegisterScalableTarget",
      "application-autoscaling:TagResource",
      "application-autoscaling:UntagResource",
    ]
    resources = ["arn:${format(local.arn_region, "application-autoscaling")}:scalable-target/*"]
  }

  statement {
    sid = "ListTableCapacityScaling"
    actions = [
      "application-autoscaling:DescribeScalableTargets",
      "application-autoscaling:DescribeScalingPolicies",
    ]
    resources = ["*"]

    condition {
      test     = "StringEquals"
      variable = "aws:RequestedRegion"
      values   = [local.region]
    }
  }

  # The first RegisterScalableTarget for a DynamoDB table creates this service-linked role with
  # the caller's rights; it is AWS's own role and nothing else may be created through this.
  statement {
    sid       = "CreateDynamoDbScalingServiceLinkedRole"
    actions   = ["iam:CreateServiceLinkedRole"]
    resources = ["arn:${local.partition}:iam::${local.account_id}:role/aws-service-role/dynamodb.application-autoscaling.amazonaws.com/AWSServiceRoleForApplicationAutoScaling_DynamoDBTable"]

    condition {
      test     = "StringEquals"
      variable = "iam:AWSServiceName"
      values   = ["dynamodb.application-autoscaling.amazonaws.com"]
    }
  }

  # The stack's CMK (kms_key_enabled, prod). Key ids are random: a key is created only with the
  # stack's Project/Environment tags and managed or used only while it carries them.
  statement {
    sid       = "CreateStackKeyWithStackTags"
    actions   = ["kms:CreateKey"]
    resources = ["*"]

    condition {
      test     = "StringEquals"
      variable = "aws:RequestedRegion"
      values   = [local.region]
    }

    condition {
      test     = "StringEquals"
      variable = "aws:RequestTag/Project"
      values   = [var.name]
    }

    condition {
      test     = "StringEquals"
      variable = "aws:RequestTag/Environment"
      values   = [each.key]
    }
  }

  # CreateGrant/Encrypt/Decrypt/GenerateDataKey: DynamoDB, Lambda and CloudWatch Logs use the key
  # with the deployer's rights when a table, function environment or log group is set up with it.
  statement {
    sid = "ManageAndUseStackKey"
    actions = [
      "kms:CreateAlias",
      "kms:CreateGrant",
      "kms:Decrypt",
      "kms:DeleteAlias",
      "kms:DescribeKey",
      "kms:EnableKeyRotation",
      "kms:Encrypt",
      "kms:GenerateDataKey",
      "kms:GetKeyPolicy",
      "kms:GetKeyRotationStatus",
      "kms:ListResourceTags",
      "kms:PutKeyPolicy",
      "kms:ScheduleKeyDeletion",
      "kms:TagResource",
      "kms:UntagResource",
      "kms:UpdateAlias",
      "kms:UpdateKeyDescription",
    ]
    resources = ["arn:${format(local.arn_region, "kms")}:key/*"]

    condition {
      test     = "StringEquals"
      variable = "aws:ResourceTag/Project"
      values   = [var.name]
    }

    condition {
      test     = "StringEquals"
      variable = "aws:ResourceTag/Environment"
      values   = [each.key]
    }
  }

  # An alias is authorised on the alias and on its key (the statement above).
  statement {
    sid       = "NameStackKey"
    actions   = ["kms:CreateAlias", "kms:DeleteAlias", "kms:UpdateAlias"]
    resources = ["arn:${format(local.arn_region, "kms")}:alias/${each.value}"]
  }

  # ListAliases supports no resource-level permissions; it returns names and key ids only.
  statement {
    sid       = "ListKeyAliases"
    actions   = ["kms:ListAliases"]
    resources = ["*"]

    condition {
      test     = "StringEquals"
      variable = "aws:RequestedRegion"
      values   = [local.region]
    }
  }

  # What the operations issue adds (alarms, dashboard, topic, parameters), by the same prefix.
  statement {
    sid = "ManageAlarms"
    actions = [
      "cloudwatch:DeleteAlarms",
      "cloudwatch:DescribeAlarms",
      "cloudwatch:ListTagsForResource",
      "cloudwatch:PutMetricAlarm",
      "cloudwatch:TagResource",
      "cloudwatch:UntagResource",
    ]
    resources = ["arn:${format(local.arn_region, "cloudwatch")}:alarm:${each.value}-*"]
  }

  statement {
    sid       = "ManageDashboards"
    actions   = ["cloudwatch:DeleteDashboards", "cloudwatch:GetDashboard", "cloudwatch:PutDashboard"]
    resources = ["arn:${local.partition}:cloudwatch::${local.account_id}:dashboard/${each.value}-*"]
  }

  statement {
    sid = "ManageTopics"
    actions = [
      "sns:CreateTopic",
      "sns:DeleteTopic",
      "sns:GetSubscriptionAttributes",
      "sns:GetTopicAttributes",
      "sns:ListSubscriptionsByTopic",
      "sns:ListTagsForResource",
      "sns:SetSubscriptionAttributes",
      "sns:SetTopicAttributes",
      "sns:Subscribe",
      "sns:TagResource",
      "sns:Unsubscribe",
      "sns:UntagResource",
    ]
    resources = ["arn:${format(local.arn_region, "sns")}:${each.value}-*"]
  }

  statement {
    sid = "ManageParameters"
    actions = [
      "ssm:AddTagsToResource",
      "ssm:DeleteParameter",
      "ssm:GetParameter",
      "ssm:GetParameters",
      "ssm:ListTagsForResource",
      "ssm:PutParameter",
      "ssm:RemoveTagsFromResource",
    ]
    resources = ["arn:${format(local.arn_region, "ssm")}:parameter/${var.name}/${each.key}/*"]
  }

  # DescribeParameters supports no resource-level permissions; it returns names, never values.
  statement {
    sid       = "ListParameters"
    actions   = ["ssm:DescribeParameters"]
    resources = ["*"]

    condition {
      test     = "StringEquals"
      variable = "aws:RequestedRegion"
      values   = [local.region]
    }
  }

  # Gradual deploys (the main stack's codedeploy.tf, deployment_strategy canary or linear): the
  # application, its traffic-shifting configuration and deployment group, by the stack's name;
  # CodeDeploy's service role may be passed to CodeDeploy only.
  statement {
    sid = "ManageCodeDeploy"
    actions = [
      "codedeploy:CreateApplication",
      "codedeploy:CreateDeploymentConfig",
      "codedeploy:CreateDeploymentGroup",
      "codedeploy:DeleteApplication",
      "codedeploy:DeleteDeploymentConfig",
      "codedeploy:DeleteDeploymentGroup",
      "codedeploy:GetApplication",
      "codedeploy:GetDeploymentConfig",
      "codedeploy:GetDeploymentGroup",
      "codedeploy:ListTagsForResource",
      "codedeploy:TagResource",
      "codedeploy:UntagResource",
      "codedeploy:UpdateDeploymentGroup",
    ]
    resources = [
      "arn:${format(local.arn_region, "codedeploy")}:application:${each.value}",
      "arn:${format(local.arn_region, "codedeploy")}:deploymentconfig:${each.value}-*",
      "arn:${format(local.arn_region, "codedeploy")}:deploymentgroup:${each.value}/${each.value}-live",
    ]
  }

  # The pipeline hands each new version to CodeDeploy (an inline AppSpec, registered as the
  # application's revision) and waits for the shift.
  statement {
    sid = "ShiftTrafficWithCodeDeploy"
    actions = [
      "codedeploy:CreateDeployment",
      "codedeploy:GetApplicationRevision",
      "codedeploy:GetDeployment",
      "codedeploy:RegisterApplicationRevision",
    ]
    resources = [
      "arn:${format(local.arn_region, "codedeploy")}:application:${each.value}",
      "arn:${format(local.arn_region, "codedeploy")}:deploymentgroup:${each.value}/${each.value}-live",
    ]
  }

  statement {
    sid       = "PassCodeDeployRole"
    actions   = ["iam:PassRole"]
    resources = ["arn:${local.partition}:iam::${local.account_id}:role/${each.value}-codedeploy"]

    condition {
      test     = "StringEquals"
      variable = "iam:PassedToService"
      values   = ["codedeploy.amazonaws.com"]
    }
  }

  # A smoke test that fails after the deploy: the pipeline points `live` back at the version it
  # served before.
  statement {
    sid       = "RollBackTheLiveAlias"
    actions   = ["lambda:GetAlias", "lambda:UpdateAlias"]
    resources = ["arn:${format(local.arn_region, "lambda")}:function:${each.value}:live"]
  }
}

resource "aws_iam_role" "deploy" {
  for_each = toset(var.environments)

  name                 = local.deploy_role_names[each.key]
  description          = "GitHub Actions (${var.github_repository}, environment ${each.key}) applies the ${local.stack_prefixes[each.key]} stack"
  assume_role_policy   = data.aws_iam_policy_document.deploy_trust[each.key].json
  max_session_duration = 3600
}

resource "aws_iam_role_policy" "deploy" {
  for_each = toset(var.environments)

  name   = "deploy-${local.stack_prefixes[each.key]}"
  role   = aws_iam_role.deploy[each.key].id
  policy = data.aws_iam_policy_document.deploy[each.key].json
}

# --- The ceiling of every role the deploy roles create (the function's execution role) ---------

data "aws_iam_policy_document" "function_boundary" {
  for_each = local.deploy_scopes

  statement {
    sid = "UseOwnTables"
    actions = [
      "dynamodb:BatchGetItem",
      "dynamodb:BatchWriteItem",
      "dynamodb:ConditionCheckItem",
      "dynamodb:DeleteItem",
      "dynamodb:DescribeTable",
      "dynamodb:GetItem",
      "dynamodb:PutItem",
      "dynamodb:Query",
      "dynamodb:Scan",
      "dynamodb:UpdateItem",
    ]
    resources = [
      "arn:${format(local.arn_region, "dynamodb")}:table/${each.value}-*",
      "arn:${format(local.arn_region, "dynamodb")}:table/${each.value}-*/index/*",
    ]
  }

  statement {
    sid     = "WriteOwnLogs"
    actions = ["logs:CreateLogStream", "logs:PutLogEvents"]
    resources = [
      "arn:${format(local.arn_region, "logs")}:log-group:/aws/lambda/${each.value}:*",
      "arn:${format(local.arn_region, "logs")}:log-group:/aws/lambda/${each.value}-*:*",
    ]
  }

  statement {
    sid       = "ReadOwnParameters"
    actions   = ["ssm:GetParameter", "ssm:GetParameters", "ssm:GetParametersByPath"]
    resources = ["arn:${format(local.arn_region, "ssm")}:parameter/${var.name}/${each.key}/*"]
  }

  # kms_key_enabled: Lambda decrypts the function's environment with the execution role's rights
  # (the stack's CMK, tagged with the stack's Project and Environment; key ids are random).
  statement {
    sid       = "UseOwnKey"
    actions   = ["kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey"]
    resources = ["arn:${format(local.arn_region, "kms")}:key/*"]

    condition {
      test     = "StringEquals"
      variable = "aws:ResourceTag/Project"
      values   = [var.name]
    }

    condition {
      test     = "StringEquals"
      variable = "aws:ResourceTag/Environment"
      values   = [each.key]
    }
  }

  # X-Ray's Put* actions support no resource-level permissions.
  statement {
    sid       = "SendTraces"
    actions   = ["xray:PutTelemetryRecords", "xray:PutTraceSegments"]
    resources = ["*"]

    condition {
      test     = "StringEquals"
      variable = "aws:RequestedRegion"
      values   = [local.region]
    }
  }

  # CodeDeploy's service role (codedeploy.tf): move the `live` alias, read the rollback alarms.
  statement {
    sid = "ShiftOwnLiveAlias"
    actions = [
      "lambda:GetAlias",
      "lambda:GetProvisionedConcurrencyConfig",
      "lambda:UpdateAlias",
    ]
    resources = ["arn:${format(local.arn_region, "lambda")}:function:${each.value}:live"]
  }

  statement {
    sid       = "ReadOwnAlarms"
    actions   = ["cloudwatch:DescribeAlarms"]
    resources = ["arn:${format(local.arn_region, "cloudwatch")}:alarm:${each.value}-*"]
  }
}

resource "aws_iam_policy" "function_boundary" {
  for_each = toset(var.environments)

  name        = "${var.name}-github-${each.key}-function-boundary"
  description = "Permissions boundary of the roles the ${local.stack_prefixes[each.key]} pipeline creates"
  policy      = data.aws_iam_policy_document.function_boundary[each.key].json
}

# --- Plan role: read-only, for `terraform plan -lock=false` on pull requests --------------------

data "aws_iam_policy_document" "plan" {
  statement {
    sid       = "ListStateBucket"
    actions   = ["s3:ListBucket"]
    resources = [aws_s3_bucket.state.arn]
  }

  # Reads the state; takes no lock (plans on pull requests run with -lock=false) and writes nothing.
  statement {
    sid       = "ReadStates"
    actions   = ["s3:GetObject"]
    resources = [for key in values(local.state_keys) : "${aws_s3_bucket.state.arn}/${key}"]
  }

  statement {
    sid = "ReadTables"
    actions = [
      "dynamodb:DescribeContinuousBackups",
      "dynamodb:DescribeTable",
      "dynamodb:DescribeTimeToLive",
      "dynamodb:ListTagsOfResource",
    ]
    resources = [for prefix in values(local.stack_prefixes) : "arn:${format(local.arn_region, "dynamodb")}:table/${prefix}-*"]
  }

  statement {
    sid       = "DescribeDynamoDbManagedKey"
    actions   = ["kms:DescribeKey"]
    resources = ["arn:${format(local.arn_region, "kms")}:key/*"]

    condition {
      test     = "ForAnyValue:StringEquals"
      variable = "kms:ResourceAliases"
      values   = ["alias/aws/dynamodb"]
    }
  }

  statement {
    sid = "ReadFunctions"
    actions = [
      "lambda:GetAlias",
      "lambda:GetFunction",
      "lambda:GetFunctionCodeSigningConfig",
      "lambda:GetFunctionConfiguration",
      "lambda:GetPolicy",
      "lambda:GetProvisionedConcurrencyConfig",
      "lambda:GetRuntimeManagementConfig",
      "lambda:ListTags",
      "lambda:ListVersionsByFunction",
    ]
    resources = flatten([for prefix in values(local.stack_prefixes) : [
      "arn:${format(local.arn_region, "lambda")}:function:${prefix}",
      "arn:${format(local.arn_region, "lambda")}:function:${prefix}:*",
      "arn:${format(local.arn_region, "lambda")}:function:${prefix}-*",
    ]])
  }

  statement {
    sid = "ReadFunctionRoles"
    actions = [
      "iam:GetRole",
      "iam:GetRolePolicy",
      "iam:ListAttachedRolePolicies",
      "iam:ListRolePolicies",
    ]
    resources = [for prefix in values(local.stack_prefixes) : "arn:${local.partition}:iam::${local.account_id}:role/${prefix}-*"]
  }

  statement {
    sid = "ReadLogGroups"
    actions = [
      "logs:DescribeLogGroups",
      "logs:ListTagsForResource",
      "logs:ListTagsLogGroup",
    ]
    resources = ["arn:${format(local.arn_region, "logs")}:log-group:*"]
  }

  # Read-only on the region's HTTP APIs (their ids are random; see the deploy roles).
  statement {
    sid     = "ReadHttpApis"
    actions = ["apigateway:GET"]
    resources = [
      "arn:${local.partition}:apigateway:${local.region}::/apis/*",
      "arn:${local.partition}:apigateway:${local.region}::/tags/*",
    ]
  }

  statement {
    sid = "ReadTableCapacityScaling"
    actions = [
      "application-autoscaling:DescribeScalableTargets",
      "application-autoscaling:DescribeScalingPolicies",
    ]
    resources = ["*"]

    condition {
      test     = "StringEquals"
      variable = "aws:RequestedRegion"
      values   = [local.region]
    }
  }

  statement {
    sid       = "ReadScalableTargetTags"
    actions   = ["application-autoscaling:ListTagsForResource"]
    resources = ["arn:${format(local.arn_region, "application-autoscaling")}:scalable-target/*"]
  }

  # The stacks' CMKs, by their Project tag (key ids are random).
  statement {
    sid = "ReadStackKeys"
    actions = [
      "kms:DescribeKey",
      "kms:GetKeyPolicy",
      "kms:GetKeyRotationStatus",
      "kms:ListResourceTags",
    ]
    resources = ["arn:${format(local.arn_region, "kms")}:key/*"]

    condition {
      test     = "StringEquals"
      variable = "aws:ResourceTag/Project"
      values   = [var.name]
    }
  }

  statement {
    sid       = "ListKeyAliases"
    actions   = ["kms:ListAliases"]
    resources = ["*"]

    condition {
      test     = "StringEquals"
      variable = "aws:RequestedRegion"
      values   = [local.region]
    }
  }

  # Gradual deploys (codedeploy.tf): the application, its deployment config and group.
  statement {
    sid = "ReadCodeDeploy"
    actions = [
      "codedeploy:GetApplication",
      "codedeploy:GetDeploymentConfig",
      "codedeploy:GetDeploymentGroup",
      "codedeploy:ListTagsForResource",
    ]
    resources = flatten([for prefix in values(local.stack_prefixes) : [
      "arn:${format(local.arn_region, "codedeploy")}:application:${prefix}",
      "arn:${format(local.arn_region, "codedeploy")}:deploymentconfig:${prefix}-*",
      "arn:${format(local.arn_region, "codedeploy")}:deploymentgroup:${prefix}/${prefix}-live",
    ]])
  }

  statement {
    sid = "ReadAlarmsAndDashboards"
    actions = [
      "cloudwatch:DescribeAlarms",
      "cloudwatch:GetDashboard",
      "cloudwatch:ListTagsForResource",
    ]
    resources = flatten([for prefix in values(local.stack_prefixes) : [
      "arn:${format(local.arn_region, "cloudwatch")}:alarm:${prefix}-*",
      "arn:${local.partition}:cloudwatch::${local.account_id}:dashboard/${prefix}-*",
    ]])
  }

  statement {
    sid = "ReadTopics"
    actions = [
      "sns:GetSubscriptionAttributes",
      "sns:GetTopicAttributes",
      "sns:ListSubscriptionsByTopic",
      "sns:ListTagsForResource",
    ]
    resources = [for prefix in values(local.stack_prefixes) : "arn:${format(local.arn_region, "sns")}:${prefix}-*"]
  }

  statement {
    sid       = "ReadParameters"
    actions   = ["ssm:GetParameter", "ssm:GetParameters", "ssm:ListTagsForResource"]
    resources = [for env in var.environments : "arn:${format(local.arn_region, "ssm")}:parameter/${var.name}/${env}/*"]
  }

  # DescribeParameters supports no resource-level permissions; it returns names, never values.
  statement {
    sid       = "ListParameters"
    actions   = ["ssm:DescribeParameters"]
    resources = ["*"]

    condition {
      test     = "StringEquals"
      variable = "aws:RequestedRegion"
      values   = [local.region]
    }
  }
}

resource "aws_iam_role" "plan" {
  name                 = local.plan_role_name
  description          = "GitHub Actions (${var.github_repository}, pull requests) plans the ${var.name} stacks, read-only"
  assume_role_policy   = data.aws_iam_policy_document.plan_trust.json
  max_session_duration = 3600
}

resource "aws_iam_role_policy" "plan" {
  name   = "plan-${var.name}"
  role   = aws_iam_role.plan.id
  policy = data.aws_iam_policy_document.plan.json
}
