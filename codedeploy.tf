# Gradual deploys (deployment_strategy canary or linear): CodeDeploy shifts the `live` alias from
# the version it serves to the one this apply published, a share at a time, and shifts it back
# when one of the stack's error or latency alarms goes off. The pipeline starts each shift
# (.github/workflows/deploy.yml, `aws deploy create-deployment` with an AppSpec); Terraform
# publishes versions but no longer moves the alias. all_at_once (the default) creates nothing here.

locals {
  gradual_deploys = var.deployment_strategy.type != "all_at_once"

  # The alias the API invokes, whichever resource manages it.
  live_alias = one(concat(aws_lambda_alias.live, aws_lambda_alias.live_shifted))

  traffic_routing_type = {
    canary = "TimeBasedCanary"
    linear = "TimeBasedLinear"
  }

  # What stops a shift and rolls it back: the function failing, the API answering 5xx, callers
  # waiting. (The 4xx, throttling and DynamoDB alarms are not about the new version's code.)
  rollback_alarms = local.gradual_deploys ? [
    aws_cloudwatch_metric_alarm.lambda_errors[0].alarm_name,
    aws_cloudwatch_metric_alarm.lambda_duration[0].alarm_name,
    aws_cloudwatch_metric_alarm.api_error_rate["5xx"].alarm_name,
    aws_cloudwatch_metric_alarm.api_latency[0].alarm_name,
  ] : []
}

# CodeDeploy owns the alias's version and routing weights: Terraform creates it once (at the
# version it publishes) and leaves both alone afterwards. Switching an existing stack between
# all_at_once and a gradual type moves the alias between two addresses: run
# `terraform state mv 'aws_lambda_alias.live[0]' 'aws_lambda_alias.live_shifted[0]'` (or back)
# before the apply, or Terraform would delete and recreate `live`.
resource "aws_lambda_alias" "live_shifted" {
  count = local.gradual_deploys ? 1 : 0

  name             = local.alias_name
  description      = "The version the HTTP API invokes (shifted by CodeDeploy)"
  function_name    = aws_lambda_function.users_api.function_name
  function_version = coalesce(var.lambda_live_version, aws_lambda_function.users_api.version)

  lifecycle {
    ignore_changes = [function_version, routing_config]
  }
}

resource "aws_codedeploy_app" "users_api" {
  count = local.gradual_deploys ? 1 : 0

  name             = local.prefix
  compute_platform = "Lambda"
}

# A custom configuration, so the percentage and interval are variables (the predefined ones are
# LambdaCanary10Percent5Minutes and a few others). Named by its settings: a change creates the
# new one before the group moves to it, as a configuration in use cannot be deleted.
resource "aws_codedeploy_deployment_config" "users_api" {
  count = local.gradual_deploys ? 1 : 0

  deployment_config_name = "${local.prefix}-${var.deployment_strategy.type}-${var.deployment_strategy.percentage}-percent-${var.deployment_strategy.interval_minutes}-minutes"
  compute_platform       = "Lambda"

  traffic_routing_config {
    type = local.traffic_routing_type[var.deployment_strategy.type]

    dynamic "time_based_canary" {
      for_each = var.deployment_strategy.type == "canary" ? [1] : []

      content {
        percentage = var.deployment_strategy.percentage
        interval   = var.deployment_strategy.interval_minutes
      }
    }

    dynamic "time_based_linear" {
      for_each = var.deployment_strategy.type == "linear" ? [1] : []

      content {
        percentage = var.deployment_strategy.percentage
        interval   = var.deployment_strategy.interval_minutes
      }
    }
  }

  lifecycle {
    create_before_destroy = true
  }
}

resource "aws_codedeploy_deployment_group" "users_api" {
  count = local.gradual_deploys ? 1 : 0

  app_name               = aws_codedeploy_app.users_api[0].name
  deployment_group_name  = "${local.prefix}-live"
  service_role_arn       = aws_iam_role.codedeploy[0].arn
  deployment_config_name = aws_codedeploy_deployment_config.users_api[0].deployment_config_name

  deployment_style {
    deployment_type   = "BLUE_GREEN"
    deployment_option = "WITH_TRAFFIC_CONTROL"
  }

  auto_rollback_configuration {
    enabled = true
    events  = ["DEPLOYMENT_FAILURE", "DEPLOYMENT_STOP_ON_ALARM"]
  }

  alarm_configuration {
    enabled = true
    alarms  = local.rollback_alarms
  }
}

# --- CodeDeploy's service role: read the alarms, move this function's `live` alias ------------

data "aws_iam_policy_document" "codedeploy_assume_role" {
  statement {
    sid     = "CodeDeployAssumesTheRole"
    actions = ["sts:AssumeRole"]

    principals {
      type        = "Service"
      identifiers = ["codedeploy.amazonaws.com"]
    }
  }
}

# What AWS's managed AWSCodeDeployRoleForLambdaLimited grants on every function and topic,
# narrowed to this alias and these alarms; no lifecycle hooks (lambda:InvokeFunction), no
# notifications (sns:Publish) and no AppSpec in S3 (the pipeline sends it inline).
data "aws_iam_policy_document" "codedeploy" {
  count = local.gradual_deploys ? 1 : 0

  statement {
    sid = "ShiftTheLiveAlias"
    actions = [
      "lambda:GetAlias",
      "lambda:GetProvisionedConcurrencyConfig",
      "lambda:UpdateAlias",
    ]
    resources = ["${aws_lambda_function.users_api.arn}:${local.alias_name}"]
  }

  statement {
    sid     = "WatchTheRollbackAlarms"
    actions = ["cloudwatch:DescribeAlarms"]
    resources = [
      for name in local.rollback_alarms : "arn:${local.partition}:cloudwatch:${local.region}:${local.account_id}:alarm:${name}"
    ]
  }
}

resource "aws_iam_role" "codedeploy" {
  count = local.gradual_deploys ? 1 : 0

  name               = "${local.prefix}-codedeploy"
  description        = "CodeDeploy shifts ${local.function_name}'s live alias"
  assume_role_policy = data.aws_iam_policy_document.codedeploy_assume_role.json
  # The pipeline's deploy roles may create roles only under this boundary (bootstrap/).
  permissions_boundary = var.lambda_permissions_boundary_arn
}

resource "aws_iam_role_policy" "codedeploy" {
  count = local.gradual_deploys ? 1 : 0

  name   = "shift-live-alias"
  role   = aws_iam_role.codedeploy[0].id
  policy = data.aws_iam_policy_document.codedeploy[0].json
}
