# Optional customer-managed key (kms_key_enabled) for the tables, both log groups, the function's
# environment and the alarm topic. Off by default: AWS-owned keys cost nothing, a CMK costs
# $1 per month plus $0.03 per 10,000 requests (DynamoDB and Lambda cache data keys).

data "aws_caller_identity" "current" {}

data "aws_region" "current" {}

data "aws_partition" "current" {}

locals {
  account_id = data.aws_caller_identity.current.account_id
  region     = data.aws_region.current.name
  partition  = data.aws_partition.current.partition
  # Built from the names, not the resources: the log groups themselves depend on the key.
  log_group_arns = [
    "arn:${local.partition}:logs:${local.region}:${local.account_id}:log-group:/aws/lambda/${local.function_name}",
    "arn:${local.partition}:logs:${local.region}:${local.account_id}:log-group:/aws/apigateway/${local.prefix}/access",
  ]
}

data "aws_iam_policy_document" "kms_key" {
  #checkov:skip=CKV_AWS_109:A key policy's "*" resource is this key alone; the account root statement is AWS's default, so IAM policies (the function's UseTheStacksKey) can grant use of the key.
  #checkov:skip=CKV_AWS_111:A key policy's "*" resource is this key alone; the account root statement is AWS's default, so IAM policies (the function's UseTheStacksKey) can grant use of the key.
  #checkov:skip=CKV_AWS_356:A key policy's "*" resource is this key alone, not every resource.
  statement {
    sid       = "AccountAdministersTheKey"
    actions   = ["kms:*"]
    resources = ["*"]

    principals {
      type        = "AWS"
      identifiers = ["arn:${local.partition}:iam::${local.account_id}:root"]
    }
  }

  statement {
    sid = "CloudWatchLogsEncryptsTheStacksLogGroups"
    actions = [
      "kms:Decrypt*",
      "kms:Describe*",
      "kms:Encrypt*",
      "kms:GenerateDataKey*",
      "kms:ReEncrypt*",
    ]
    resources = ["*"]

    principals {
      type        = "Service"
      identifiers = ["logs.${local.region}.amazonaws.com"]
    }

    condition {
      test     = "ArnEquals"
      variable = "kms:EncryptionContext:aws:logs:arn"
      values   = local.log_group_arns
    }
  }

  # Alarm notifications to the (encrypted) topic: CloudWatch must make a data key for SNS.
  statement {
    sid = "CloudWatchAlarmsPublishToTheTopic"
    actions = [
      "kms:Decrypt",
      "kms:GenerateDataKey*",
    ]
    resources = ["*"]

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

resource "aws_kms_key" "main" {
  count = var.kms_key_enabled ? 1 : 0

  description             = "Tables, logs, function environment and alarm topic of ${local.prefix}"
  enable_key_rotation     = true
  deletion_window_in_days = var.kms_key_deletion_window_days
  policy                  = data.aws_iam_policy_document.kms_key.json
}

resource "aws_kms_alias" "main" {
  count = var.kms_key_enabled ? 1 : 0

  name          = "alias/${local.prefix}"
  target_key_id = aws_kms_key.main[0].key_id
}
