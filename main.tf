terraform {
  # 1.9: lambda_runtime's validation reads lambda/runtimes.json (a validation may refer to more
  # than its own variable only since 1.9).
  required_version = ">= 1.9"

  # The providers (aws ~> 5.100, archive ~> 2.7, external ~> 2.3) are pinned in package.tf's
  # terraform block: a module may have only one required_providers block, and offline tooling
  # swaps that one file for tools/offline/package.tf, which requires aws alone (archive and
  # external cannot be fetched there).
}

provider "aws" {
  region = var.aws_region

  default_tags {
    tags = merge(var.tags, {
      Project     = var.name
      Environment = var.environment
      ManagedBy   = "terraform"
    })
  }
}

locals {
  prefix        = "${var.name}-${var.environment}"
  function_name = local.prefix
  email_index   = "email-index"

  # The API's contract, once. `$default` sends every other request to the function too, so it
  # answers unknown paths with its JSON 404 and wrong methods with 405 + Allow.
  route_keys = [
    "POST /users",
    "GET /users",
    "GET /users/{user_id}",
    "PUT /users/{user_id}",
    "PATCH /users/{user_id}",
    "DELETE /users/{user_id}",
    "GET /hello",
    "GET /openapi.json",
    "$default",
  ]
}

# --- DynamoDB ---------------------------------------------------------------------------------

resource "aws_dynamodb_table" "users" {
  name                        = "${local.prefix}-users"
  billing_mode                = "PAY_PER_REQUEST"
  hash_key                    = "user_id"
  deletion_protection_enabled = var.dynamodb_deletion_protection

  attribute {
    name = "user_id"
    type = "S"
  }

  attribute {
    name = "email"
    type = "S"
  }

  # Sparse: only users with an email appear in the index.
  global_secondary_index {
    name            = local.email_index
    hash_key        = "email"
    projection_type = "ALL"
  }

  point_in_time_recovery {
    enabled = true
  }

  server_side_encryption {
    enabled = true
  }
}

# One item per email in use; creating it inside the same transaction as the user makes the
# uniqueness hold under concurrent requests, which a GSI alone cannot.
resource "aws_dynamodb_table" "user_emails" {
  name                        = "${local.prefix}-user-emails"
  billing_mode                = "PAY_PER_REQUEST"
  hash_key                    = "email"
  deletion_protection_enabled = var.dynamodb_deletion_protection

  attribute {
    name = "email"
    type = "S"
  }

  point_in_time_recovery {
    enabled = true
  }

  server_side_encryption {
    enabled = true
  }
}

# --- Lambda -----------------------------------------------------------------------------------

# Created by Terraform before the function, so retention applies and destroy removes it; Lambda
# would otherwise create it on first invocation and keep it forever.
resource "aws_cloudwatch_log_group" "function" {
  name              = "/aws/lambda/${local.function_name}"
  retention_in_days = var.log_retention_days
}

resource "aws_lambda_function" "users_api" {
  function_name    = local.function_name
  description      = "Users API behind the ${local.prefix} HTTP API"
  role             = aws_iam_role.function.arn
  handler          = "users_api.app.handler"
  runtime          = var.lambda_runtime
  architectures    = [var.lambda_architecture]
  memory_size      = var.lambda_memory_mb
  timeout          = var.lambda_timeout_seconds
  filename         = local.lambda_package_path
  source_code_hash = local.lambda_package_hash

  environment {
    variables = {
      USERS_TABLE  = aws_dynamodb_table.users.name
      EMAILS_TABLE = aws_dynamodb_table.user_emails.name
      EMAIL_INDEX  = local.email_index
      LOG_LEVEL    = var.log_level
      # auth.tf: what the gateway checked, and what the function lets a caller do.
      AUTHORIZATION = var.authorization
      ADMIN_SCOPE   = var.admin_scope
      PROFILE_READS = var.profile_reads
    }
  }

  logging_config {
    log_format            = "JSON"
    log_group             = aws_cloudwatch_log_group.function.name
    application_log_level = var.log_level
    system_log_level      = "WARN"
  }

  tracing_config {
    mode = var.tracing_enabled ? "Active" : "PassThrough"
  }

  # The role's policy must exist before the first invocation can write logs or read tables.
  depends_on = [aws_iam_role_policy.function]

  lifecycle {
    # package.tf asks the build for exactly these; a mismatch means the package on hand was built
    # for another configuration (offline: staged with other variables), and it would not import.
    precondition {
      condition = (
        local.lambda_package_manifest.runtime == var.lambda_runtime &&
        local.lambda_package_manifest.architecture == var.lambda_architecture &&
        local.lambda_package_manifest.bytecode == tostring(var.lambda_bytecode)
      )
      error_message = "The package was built for ${local.lambda_package_manifest.runtime}/${local.lambda_package_manifest.architecture} (bytecode ${local.lambda_package_manifest.bytecode}), but the function is ${var.lambda_runtime}/${var.lambda_architecture} (bytecode ${var.lambda_bytecode}): build it with this configuration's variables (package.tf does at every plan; offline, tools/stage.py)."
    }
  }
}

# --- HTTP API ---------------------------------------------------------------------------------

resource "aws_apigatewayv2_api" "users" {
  name          = local.prefix
  description   = "Users API (${var.environment})"
  protocol_type = "HTTP"

  cors_configuration {
    allow_origins  = var.cors_allowed_origins
    allow_methods  = ["DELETE", "GET", "OPTIONS", "PATCH", "POST", "PUT"]
    allow_headers  = ["authorization", "content-type", "if-match"]
    expose_headers = ["etag", "location"]
    max_age        = 3600
  }
}

resource "aws_apigatewayv2_integration" "users_api" {
  api_id                 = aws_apigatewayv2_api.users.id
  integration_type       = "AWS_PROXY"
  integration_method     = "POST"
  integration_uri        = aws_lambda_function.users_api.invoke_arn
  payload_format_version = "2.0"
  # Just under the function's limit, which stays under the HTTP API's own 30 s.
  timeout_milliseconds = var.lambda_timeout_seconds * 1000 + 500
}

resource "aws_apigatewayv2_route" "users_api" {
  for_each = toset(local.route_keys)

  api_id    = aws_apigatewayv2_api.users.id
  route_key = each.value
  target    = "integrations/${aws_apigatewayv2_integration.users_api.id}"

  # auth.tf: every route, `$default` included, needs a caller unless it is public.
  authorization_type = contains(local.public_route_keys, each.value) ? "NONE" : var.authorization
  authorizer_id      = contains(local.public_route_keys, each.value) ? null : one(aws_apigatewayv2_authorizer.jwt[*].id)

  lifecycle {
    precondition {
      # create_user_pool without JWT is refused by the pool's own precondition (auth.tf).
      condition     = var.authorization == "JWT" || (var.jwt_issuer == null && length(var.jwt_audience) == 0)
      error_message = "jwt_issuer and jwt_audience only apply with authorization = \"JWT\"; set it, or the API stays ${var.authorization == "NONE" ? "open to anyone" : "on AWS_IAM"}."
    }
  }
}

resource "aws_cloudwatch_log_group" "api_access" {
  name              = "/aws/apigateway/${local.prefix}/access"
  retention_in_days = var.log_retention_days
}

resource "aws_apigatewayv2_stage" "default" {
  api_id      = aws_apigatewayv2_api.users.id
  name        = "$default"
  auto_deploy = true

  default_route_settings {
    throttling_burst_limit = var.throttling_burst_limit
    throttling_rate_limit  = var.throttling_rate_limit
  }

  access_log_settings {
    destination_arn = aws_cloudwatch_log_group.api_access.arn
    format = jsonencode({
      requestId          = "$context.requestId"
      requestTime        = "$context.requestTime"
      sourceIp           = "$context.identity.sourceIp"
      httpMethod         = "$context.httpMethod"
      routeKey           = "$context.routeKey"
      path               = "$context.path"
      status             = "$context.status"
      responseLength     = "$context.responseLength"
      responseLatency    = "$context.responseLatency"
      integrationLatency = "$context.integration.latency"
      integrationStatus  = "$context.integration.status"
      integrationError   = "$context.integrationErrorMessage"
    })
  }
}

resource "aws_lambda_permission" "api_gateway" {
  statement_id  = "AllowInvokeFromHttpApi"
  action        = "lambda:InvokeFunction"
  function_name = aws_lambda_function.users_api.function_name
  principal     = "apigateway.amazonaws.com"
  # Any stage and route of this API, and no other API.
  source_arn = "${aws_apigatewayv2_api.users.execution_arn}/*/*"
}
