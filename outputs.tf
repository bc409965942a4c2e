output "api_url" {
  description = "Base URL of the HTTP API, without a trailing slash (https://<custom_domain_name> when one is set): curl \"$(terraform output -raw api_url)/hello\"."
  value       = local.api_url
}

output "execute_api_url" {
  description = "The API's own execute-api URL, without a trailing slash (reachable even with a custom domain)."
  value       = trimsuffix(aws_apigatewayv2_stage.default.invoke_url, "/")
}

output "api_id" {
  description = "ID of the HTTP API."
  value       = aws_apigatewayv2_api.users.id
}

output "users_table_name" {
  description = "Name of the users table (USERS_TABLE)."
  value       = aws_dynamodb_table.users.name
}

output "users_table_arn" {
  description = "ARN of the users table."
  value       = aws_dynamodb_table.users.arn
}

output "emails_table_name" {
  description = "Name of the email uniqueness table (EMAILS_TABLE)."
  value       = aws_dynamodb_table.user_emails.name
}

output "emails_table_arn" {
  description = "ARN of the email uniqueness table."
  value       = aws_dynamodb_table.user_emails.arn
}

output "idempotency_table_name" {
  description = "Name of the Idempotency-Key table (IDEMPOTENCY_TABLE)."
  value       = aws_dynamodb_table.idempotency.name
}

output "idempotency_table_arn" {
  description = "ARN of the Idempotency-Key table."
  value       = aws_dynamodb_table.idempotency.arn
}

output "function_name" {
  description = "Name of the Lambda function."
  value       = aws_lambda_function.users_api.function_name
}

output "function_arn" {
  description = "ARN of the Lambda function."
  value       = aws_lambda_function.users_api.arn
}

output "function_alias_arn" {
  description = "ARN of the `live` alias the API invokes (roll back with lambda_live_version)."
  value       = aws_lambda_alias.live.arn
}

output "function_live_version" {
  description = "Version the `live` alias points at."
  value       = aws_lambda_alias.live.function_version
}

output "function_latest_version" {
  description = "Latest version this stack published."
  value       = aws_lambda_function.users_api.version
}

output "function_log_group_name" {
  description = "CloudWatch log group of the function (JSON logs)."
  value       = aws_cloudwatch_log_group.function.name
}

output "access_log_group_name" {
  description = "CloudWatch log group of the API's JSON access logs."
  value       = aws_cloudwatch_log_group.api_access.name
}

output "example_curl" {
  description = "A request to try once the stack is up: create a user."
  value       = "curl -X POST '${local.api_url}/users' -H 'Content-Type: application/json' -d '{\"user_id\":\"01\",\"name\":\"Joy\"}'"
}

output "alarm_topic_arn" {
  description = "SNS topic the alarms notify (created here or alarm_topic_arn); null without alarms."
  value       = var.alarms_enabled ? local.alarm_topic_arn : null
}

output "dashboard_name" {
  description = "Name of the stack's CloudWatch dashboard; null when dashboard_enabled is false."
  value       = one(aws_cloudwatch_dashboard.main[*].dashboard_name)
}

output "parameter_path" {
  description = "SSM Parameter Store path holding api_url, the table names and function_name; null when parameters_enabled is false."
  value       = var.parameters_enabled ? local.parameter_path : null
}

output "kms_key_arn" {
  description = "ARN of the customer-managed key of the tables, logs, function environment and alarm topic; null with AWS-owned keys."
  value       = local.kms_key_arn
}

output "custom_domain_target" {
  description = "The regional endpoint a custom domain's DNS must point at (alias/CNAME target); null without custom_domain_name."
  value       = one(aws_apigatewayv2_domain_name.api[*].domain_name_configuration[0].target_domain_name)
}
