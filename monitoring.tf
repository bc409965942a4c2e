# Alarms (alarms_enabled) to an SNS topic created here or passed in (alarm_topic_arn), and one
# dashboard per stack (dashboard_enabled) with the same metrics. Every alarm looks at 5-minute
# periods and treats missing data as fine: an idle stack is a healthy one.

locals {
  create_alarm_topic = var.alarms_enabled && var.alarm_topic_arn == null
  alarm_topic_arn    = var.alarm_topic_arn != null ? var.alarm_topic_arn : one(aws_sns_topic.alarms[*].arn)
  alarm_actions      = var.alarms_enabled ? [local.alarm_topic_arn] : []
  thresholds         = var.alarm_thresholds
  stage_name         = "$default"

  # Table key -> name, and the operations the function makes on each table (its IAM actions on
  # the table and its indexes, plus TransactWriteItems where it writes in transactions), for the
  # per-operation metrics.
  table_names = { for key, table in aws_dynamodb_table.tables : key => table.name }
  table_operations = {
    for key, table in local.tables : key => sort(distinct(concat(
      [for action in table.actions : trimprefix(action, "dynamodb:")],
      flatten([for index in values(table.indexes) : [for action in index.actions : trimprefix(action, "dynamodb:")]]),
      table.transactions ? ["TransactWriteItems"] : [],
    )))
  }
  transactional_tables = [for key, table in local.tables : key if table.transactions]

  lambda_dimensions = { FunctionName = aws_lambda_function.users_api.function_name }
  api_dimensions    = { ApiId = aws_apigatewayv2_api.users.id, Stage = local.stage_name }
}

# --- SNS ------------------------------------------------------------------------------------------

resource "aws_sns_topic" "alarms" {
  #checkov:skip=CKV_AWS_26:Encrypted with the stack's CMK when kms_key_enabled (prod.tfvars); the AWS-managed SNS key cannot be used, CloudWatch alarms may not publish to a topic under it, and alarm messages carry no user data.
  count = local.create_alarm_topic ? 1 : 0

  name              = "${local.prefix}-alarms"
  kms_master_key_id = local.kms_key_arn
}

data "aws_iam_policy_document" "alarm_topic" {
  count = local.create_alarm_topic ? 1 : 0

  statement {
    sid       = "CloudWatchAlarmsOfThisAccountPublish"
    actions   = ["sns:Publish"]
    resources = [aws_sns_topic.alarms[0].arn]

    principals {
      type        = "Service"
      identifiers = ["cloudwatch.amazonaws.com"]
    }

    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [local.account_id]
    }
  }
}

resource "aws_sns_topic_policy" "alarms" {
  count = local.create_alarm_topic ? 1 : 0

  arn    = aws_sns_topic.alarms[0].arn
  policy = data.aws_iam_policy_document.alarm_topic[0].json
}

resource "aws_sns_topic_subscription" "alarm_email" {
  count = local.create_alarm_topic && var.alarm_email != null ? 1 : 0

  topic_arn = aws_sns_topic.alarms[0].arn
  protocol  = "email"
  endpoint  = var.alarm_email
}

# --- Lambda -------------------------------------------------------------------------------------

resource "aws_cloudwatch_metric_alarm" "lambda_errors" {
  count = var.alarms_enabled ? 1 : 0

  alarm_name          = "${local.prefix}-lambda-errors"
  alarm_description   = "The function raised (or timed out) at least ${local.thresholds.lambda_errors} times in 5 minutes: a bug or a failing dependency; the handler turns expected errors into responses."
  namespace           = "AWS/Lambda"
  metric_name         = "Errors"
  dimensions          = local.lambda_dimensions
  statistic           = "Sum"
  period              = 300
  evaluation_periods  = 1
  comparison_operator = "GreaterThanOrEqualToThreshold"
  threshold           = local.thresholds.lambda_errors
  treat_missing_data  = "notBreaching"
  alarm_actions       = local.alarm_actions
  ok_actions          = local.alarm_actions
}

resource "aws_cloudwatch_metric_alarm" "lambda_throttles" {
  count = var.alarms_enabled ? 1 : 0

  alarm_name          = "${local.prefix}-lambda-throttles"
  alarm_description   = "Lambda refused at least ${local.thresholds.lambda_throttles} invocations in 5 minutes (reserved or account concurrency exhausted): clients got 503s."
  namespace           = "AWS/Lambda"
  metric_name         = "Throttles"
  dimensions          = local.lambda_dimensions
  statistic           = "Sum"
  period              = 300
  evaluation_periods  = 1
  comparison_operator = "GreaterThanOrEqualToThreshold"
  threshold           = local.thresholds.lambda_throttles
  treat_missing_data  = "notBreaching"
  alarm_actions       = local.alarm_actions
  ok_actions          = local.alarm_actions
}

resource "aws_cloudwatch_metric_alarm" "lambda_duration" {
  count = var.alarms_enabled ? 1 : 0

  alarm_name          = "${local.prefix}-lambda-duration-p99"
  alarm_description   = "p99 duration above ${local.thresholds.lambda_duration_percent_timeout}% of the ${var.lambda_timeout_seconds} s timeout for 15 minutes: requests are close to timing out."
  namespace           = "AWS/Lambda"
  metric_name         = "Duration"
  dimensions          = local.lambda_dimensions
  extended_statistic  = "p99"
  period              = 300
  evaluation_periods  = 3
  comparison_operator = "GreaterThanOrEqualToThreshold"
  threshold           = var.lambda_timeout_seconds * 1000 * local.thresholds.lambda_duration_percent_timeout / 100
  treat_missing_data  = "notBreaching"
  alarm_actions       = local.alarm_actions
  ok_actions          = local.alarm_actions
}

# --- HTTP API -----------------------------------------------------------------------------------

resource "aws_cloudwatch_metric_alarm" "api_error_rate" {
  for_each = var.alarms_enabled ? {
    "5xx" = local.thresholds.api_5xx_rate_percent
    "4xx" = local.thresholds.api_4xx_rate_percent
  } : {}

  alarm_name          = "${local.prefix}-api-${each.key}-rate"
  alarm_description   = "${each.key} responses above ${each.value}% of the API's requests in 5 minutes (${each.key == "5xx" ? "the service is failing its callers" : "a client or a deploy broke the contract, or someone is probing"})."
  comparison_operator = "GreaterThanOrEqualToThreshold"
  threshold           = each.value
  evaluation_periods  = 1
  treat_missing_data  = "notBreaching"
  alarm_actions       = local.alarm_actions
  ok_actions          = local.alarm_actions

  metric_query {
    id          = "rate"
    label       = "${each.key} rate (%)"
    expression  = "IF(requests > 0, 100 * errors / requests, 0)"
    return_data = true
  }

  metric_query {
    id = "errors"

    metric {
      namespace   = "AWS/ApiGateway"
      metric_name = each.key
      dimensions  = local.api_dimensions
      stat        = "Sum"
      period      = 300
    }
  }

  metric_query {
    id = "requests"

    metric {
      namespace   = "AWS/ApiGateway"
      metric_name = "Count"
      dimensions  = local.api_dimensions
      stat        = "Sum"
      period      = 300
    }
  }
}

resource "aws_cloudwatch_metric_alarm" "api_latency" {
  count = var.alarms_enabled ? 1 : 0

  alarm_name          = "${local.prefix}-api-latency-p99"
  alarm_description   = "p99 latency of the API above ${local.thresholds.api_latency_p99_ms} ms for 15 minutes, as its callers see it."
  namespace           = "AWS/ApiGateway"
  metric_name         = "Latency"
  dimensions          = local.api_dimensions
  extended_statistic  = "p99"
  period              = 300
  evaluation_periods  = 3
  comparison_operator = "GreaterThanOrEqualToThreshold"
  threshold           = local.thresholds.api_latency_p99_ms
  treat_missing_data  = "notBreaching"
  alarm_actions       = local.alarm_actions
  ok_actions          = local.alarm_actions
}

# --- DynamoDB -----------------------------------------------------------------------------------

# ThrottledRequests and SystemErrors are published per table *and operation*: each alarm sums
# the operations the function makes on its table.
resource "aws_cloudwatch_metric_alarm" "dynamodb_operations" {
  for_each = var.alarms_enabled ? {
    for pair in setproduct(keys(local.table_names), ["ThrottledRequests", "SystemErrors"]) :
    "${pair[0]}-${pair[1]}" => { table = pair[0], metric = pair[1] }
  } : {}

  alarm_name          = "${local.prefix}-dynamodb-${each.value.table}-${lower(each.value.metric)}"
  alarm_description   = each.value.metric == "ThrottledRequests" ? "Requests to ${local.table_names[each.value.table]} throttled in 5 minutes (capacity or a hot partition): the function retried within its deadline, then answered 503." : "DynamoDB answered requests to ${local.table_names[each.value.table]} with HTTP 500s in 5 minutes: an AWS-side fault; the function answered 503."
  comparison_operator = "GreaterThanOrEqualToThreshold"
  threshold           = each.value.metric == "ThrottledRequests" ? local.thresholds.dynamodb_throttles : local.thresholds.dynamodb_system_errors
  evaluation_periods  = 1
  treat_missing_data  = "notBreaching"
  alarm_actions       = local.alarm_actions
  ok_actions          = local.alarm_actions

  metric_query {
    id          = "total"
    label       = "${each.value.metric} on ${local.table_names[each.value.table]}"
    expression  = "SUM(METRICS(\"op\"))"
    return_data = true
  }

  dynamic "metric_query" {
    for_each = local.table_operations[each.value.table]

    content {
      id = "op${metric_query.key}"

      metric {
        namespace   = "AWS/DynamoDB"
        metric_name = each.value.metric
        dimensions  = { TableName = local.table_names[each.value.table], Operation = metric_query.value }
        stat        = "Sum"
        period      = 300
      }
    }
  }
}

resource "aws_cloudwatch_metric_alarm" "dynamodb_transaction_conflicts" {
  for_each = var.alarms_enabled ? toset(local.transactional_tables) : toset([])

  alarm_name          = "${local.prefix}-dynamodb-${each.key}-transaction-conflicts"
  alarm_description   = "At least ${local.thresholds.dynamodb_transaction_conflicts} transactions on ${local.table_names[each.key]} conflicted in 5 minutes: concurrent writes to the same users or emails; a few are retried, many mean contention."
  namespace           = "AWS/DynamoDB"
  metric_name         = "TransactionConflict"
  dimensions          = { TableName = local.table_names[each.key] }
  statistic           = "Sum"
  period              = 300
  evaluation_periods  = 1
  comparison_operator = "GreaterThanOrEqualToThreshold"
  threshold           = local.thresholds.dynamodb_transaction_conflicts
  treat_missing_data  = "notBreaching"
  alarm_actions       = local.alarm_actions
  ok_actions          = local.alarm_actions
}

# --- Dashboard ----------------------------------------------------------------------------------

locals {
  table_operation_pairs = flatten([
    for key, operations in local.table_operations : [
      for operation in operations : { table = local.table_names[key], operation = operation }
    ]
  ])
  lambda_metric = ["AWS/Lambda", "FunctionName", aws_lambda_function.users_api.function_name]
  api_metric    = ["AWS/ApiGateway", "ApiId", aws_apigatewayv2_api.users.id, "Stage", local.stage_name]

  dashboard_widgets = [
    {
      title   = "Lambda invocations, errors, throttles (sum)"
      stat    = "Sum"
      metrics = [for name in ["Invocations", "Errors", "Throttles"] : [local.lambda_metric[0], name, local.lambda_metric[1], local.lambda_metric[2]]]
    },
    {
      title = "Lambda duration (ms)"
      stat  = "p99"
      metrics = [
        [local.lambda_metric[0], "Duration", local.lambda_metric[1], local.lambda_metric[2], { stat = "p50" }],
        [local.lambda_metric[0], "Duration", local.lambda_metric[1], local.lambda_metric[2], { stat = "p99" }],
        [local.lambda_metric[0], "ConcurrentExecutions", local.lambda_metric[1], local.lambda_metric[2], { stat = "Maximum", yAxis = "right" }],
      ]
    },
    {
      title   = "HTTP API requests, 4xx, 5xx (sum)"
      stat    = "Sum"
      metrics = [for name in ["Count", "4xx", "5xx"] : [local.api_metric[0], name, local.api_metric[1], local.api_metric[2], local.api_metric[3], local.api_metric[4]]]
    },
    {
      title = "HTTP API latency (ms)"
      stat  = "p99"
      metrics = [
        [local.api_metric[0], "Latency", local.api_metric[1], local.api_metric[2], local.api_metric[3], local.api_metric[4], { stat = "p50" }],
        [local.api_metric[0], "Latency", local.api_metric[1], local.api_metric[2], local.api_metric[3], local.api_metric[4], { stat = "p99" }],
        [local.api_metric[0], "IntegrationLatency", local.api_metric[1], local.api_metric[2], local.api_metric[3], local.api_metric[4], { stat = "p99" }],
      ]
    },
    {
      title = "DynamoDB consumed capacity (sum)"
      stat  = "Sum"
      metrics = [
        for pair in setproduct(values(local.table_names), ["ConsumedReadCapacityUnits", "ConsumedWriteCapacityUnits"]) :
        ["AWS/DynamoDB", pair[1], "TableName", pair[0]]
      ]
    },
    {
      title = "DynamoDB throttled requests, system errors, transaction conflicts (sum)"
      stat  = "Sum"
      metrics = concat(
        [
          for pair in setproduct(local.table_operation_pairs, ["ThrottledRequests", "SystemErrors"]) :
          ["AWS/DynamoDB", pair[1], "TableName", pair[0].table, "Operation", pair[0].operation]
        ],
        [for key in local.transactional_tables : ["AWS/DynamoDB", "TransactionConflict", "TableName", local.table_names[key]]],
      )
    },
  ]
}

resource "aws_cloudwatch_dashboard" "main" {
  count = var.dashboard_enabled ? 1 : 0

  dashboard_name = local.prefix
  dashboard_body = jsonencode({
    widgets = [
      for index, widget in local.dashboard_widgets : {
        type   = "metric"
        x      = (index % 2) * 12
        y      = floor(index / 2) * 6
        width  = 12
        height = 6
        properties = {
          title   = widget.title
          region  = local.region
          stat    = widget.stat
          period  = 300
          view    = "timeSeries"
          metrics = widget.metrics
        }
      }
    ]
  })
}
