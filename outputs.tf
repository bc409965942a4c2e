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
  value       = aws_dynamodb_table.tables["users"].name
}

output "users_table_arn" {
  description = "ARN of the users table."
  value       = aws_dynamodb_table.tables["users"].arn
}

output "emails_table_name" {
  description = "Name of the email uniqueness table (EMAILS_TABLE)."
  value       = aws_dynamodb_table.tables["emails"].name
}

output "emails_table_arn" {
  description = "ARN of the email uniqueness table."
  value       = aws_dynamodb_table.tables["emails"].arn
}

output "idempotency_table_name" {
  description = "Name of the Idempotency-Key table (IDEMPOTENCY_TABLE)."
  value       = aws_dynamodb_table.tables["idempotency"].name
}

output "idempotency_table_arn" {
  description = "ARN of the Idempotency-Key table."
  value       = aws_dynamodb_table.tables["idempotency"].arn
}

output "tables" {
  description = "Every table of the tables map (main.tf's local.tables) by key: its name and ARN (the *_table_name outputs above are its first three entries, kept for scripts)."
  value       = { for key, table in aws_dynamodb_table.tables : key => { name = table.name, arn = table.arn } }
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
  value       = local.live_alias.arn
}

output "function_live_version" {
  description = "Version the `live` alias points at."
  value       = local.live_alias.function_version
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

# --- Authorization (auth.tf) ------------------------------------------------------------------

output "access" {
  description = "Who may call the API, in one sentence; with authorization = \"NONE\" it says plainly that the API is open."
  value = {
    NONE    = "OPEN: authorization = \"NONE\", so anyone who has the URL can list, change and delete every user. Set authorization = \"JWT\" or \"AWS_IAM\" before real data goes in."
    JWT     = "JWT: every route except ${join(", ", local.public_route_keys)} needs 'Authorization: Bearer <token>' from ${coalesce(local.jwt_issuer, "-")} for audience ${join(" or ", local.jwt_audience)}; the token's sub is the caller's user_id, ${var.admin_scope} may do everything."
    AWS_IAM = "AWS_IAM: every route except ${join(", ", local.public_route_keys)} needs a SigV4-signed request (service execute-api) from a principal allowed execute-api:Invoke on ${aws_apigatewayv2_api.users.execution_arn}/$default/<METHOD>/<path>."
  }[var.authorization]
}

output "api_execution_arn" {
  description = "Execution ARN of the API; callers' IAM policies allow execute-api:Invoke on \"<this>/$default/GET/users/*\" and the like (authorization = \"AWS_IAM\")."
  value       = aws_apigatewayv2_api.users.execution_arn
}

output "jwt_issuer" {
  description = "Issuer the JWT authorizer trusts (authorization = \"JWT\"), else null."
  value       = var.authorization == "JWT" ? local.jwt_issuer : null
}

output "jwt_audience" {
  description = "Audiences the JWT authorizer accepts (aud, or client_id when a token has no aud), else null."
  value       = var.authorization == "JWT" ? local.jwt_audience : null
}

output "cognito_user_pool_id" {
  description = "ID of the Cognito user pool (create_user_pool = true), else null."
  value       = one(aws_cognito_user_pool.users[*].id)
}

output "cognito_user_client_id" {
  description = "App client users sign in with (USER_PASSWORD_AUTH or SRP; their access token's sub is their user_id), else null."
  value       = one(aws_cognito_user_pool_client.users[*].id)
}

output "cognito_admin_client_id" {
  description = "Client-credentials app client whose tokens carry admin_scope (its secret: aws cognito-idp describe-user-pool-client), else null."
  value       = one(aws_cognito_user_pool_client.admin[*].id)
}

output "cognito_token_hint" {
  description = "How to get tokens from the Cognito pool (create_user_pool = true), else null."
  value = var.create_user_pool ? join("\n", [
    "user:  aws cognito-idp initiate-auth --client-id ${aws_cognito_user_pool_client.users[0].id} --auth-flow USER_PASSWORD_AUTH --auth-parameters USERNAME=<email>,PASSWORD=<password> --query AuthenticationResult.AccessToken --output text",
    "admin: curl -s -u ${aws_cognito_user_pool_client.admin[0].id}:<secret> -d grant_type=client_credentials -d scope=${var.admin_scope} https://${aws_cognito_user_pool_domain.users[0].domain}.auth.${data.aws_region.cognito[0].name}.amazoncognito.com/oauth2/token",
  ]) : null
}

output "codedeploy_app_name" {
  description = "CodeDeploy application that shifts the `live` alias (deployment_strategy canary or linear), else null."
  value       = one(aws_codedeploy_app.users_api[*].name)
}

output "codedeploy_deployment_group_name" {
  description = "CodeDeploy deployment group of the `live` alias (its rollback alarms and traffic-shifting configuration), else null."
  value       = one(aws_codedeploy_deployment_group.users_api[*].deployment_group_name)
}
