# Where other stacks and scripts find this one (parameters_enabled): standard String parameters
# (free, not secrets) under /<name>/<environment>/.

locals {
  parameter_path = "/${var.name}/${var.environment}"
  # Every table of local.tables as <key>_table.
  parameters = merge(
    { for key, table in aws_dynamodb_table.tables : "${key}_table" => table.name },
    {
      api_url       = local.api_url
      function_name = aws_lambda_function.users_api.function_name
    },
  )
}

resource "aws_ssm_parameter" "stack" {
  #checkov:skip=CKV2_AWS_34:Public identifiers (a URL and resource names), not secrets; a SecureString would only make every reader need kms:Decrypt.
  for_each = var.parameters_enabled ? local.parameters : {}

  name        = "${local.parameter_path}/${each.key}"
  description = "${each.key} of the ${local.prefix} users API"
  type        = "String"
  value       = each.value
}
