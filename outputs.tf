output "api_url" {
  description = "Base URL of the HTTP API, without a trailing slash: curl \"$(terraform output -raw api_url)/hello\"."
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

output "function_name" {
  description = "Name of the Lambda function."
  value       = aws_lambda_function.users_api.function_name
}

output "function_arn" {
  description = "ARN of the Lambda function."
  value       = aws_lambda_function.users_api.arn
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
  value       = "curl -X POST '${trimsuffix(aws_apigatewayv2_stage.default.invoke_url, "/")}/users' -H 'Content-Type: application/json' -d '{\"user_id\":\"01\",\"name\":\"Joy\"}'"
}
