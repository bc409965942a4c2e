data "aws_iam_policy_document" "lambda_assume_role" {
  statement {
    sid     = "LambdaAssumesRole"
    actions = ["sts:AssumeRole"]

    principals {
      type        = "Service"
      identifiers = ["lambda.amazonaws.com"]
    }
  }
}

resource "aws_iam_role" "function" {
  name               = "${local.prefix}-lambda"
  description        = "Execution role of the ${local.function_name} function"
  assume_role_policy = data.aws_iam_policy_document.lambda_assume_role.json
  # The pipeline's deploy roles may create roles only under this boundary (bootstrap/).
  permissions_boundary = var.lambda_permissions_boundary_arn
}

# Exactly what users_api's code calls, on exactly these tables and indexes (local.tables: one
# statement per table and one per index, each with its sid); nothing from a managed policy.
data "aws_iam_policy_document" "function" {
  dynamic "statement" {
    for_each = local.tables

    content {
      sid       = statement.value.sid
      actions   = statement.value.actions
      resources = [aws_dynamodb_table.tables[statement.key].arn]
    }
  }

  dynamic "statement" {
    for_each = local.table_indexes

    content {
      sid       = statement.value.sid
      actions   = statement.value.actions
      resources = ["${aws_dynamodb_table.tables[statement.value.table].arn}/index/${statement.value.index}"]
    }
  }

  # The function's environment (and, through DynamoDB, the tables) are encrypted with the CMK.
  dynamic "statement" {
    for_each = var.kms_key_enabled ? [1] : []

    content {
      sid = "UseTheStacksKey"
      actions = [
        "kms:Decrypt",
        "kms:Encrypt",
        "kms:GenerateDataKey",
      ]
      resources = [aws_kms_key.main[0].arn]
    }
  }

  statement {
    sid = "WriteOwnLogs"
    actions = [
      "logs:CreateLogStream",
      "logs:PutLogEvents",
    ]
    resources = ["${aws_cloudwatch_log_group.function.arn}:*"]
  }

  # X-Ray's Put* actions support no resource-level permissions, so AWS requires "*" here.
  dynamic "statement" {
    for_each = var.tracing_enabled ? [1] : []

    content {
      sid = "SendTraces"
      actions = [
        "xray:PutTelemetryRecords",
        "xray:PutTraceSegments",
      ]
      resources = ["*"]
    }
  }
}

locals {
  # "<table>/<index>" -> the index's facts from local.tables, with its table's key and its name.
  table_indexes = merge([
    for key, table in local.tables : {
      for name, index in table.indexes : "${key}/${name}" => merge(index, { table = key, index = name })
    }
  ]...)
}

resource "aws_iam_role_policy" "function" {
  name   = "users-api"
  role   = aws_iam_role.function.id
  policy = data.aws_iam_policy_document.function.json
}
