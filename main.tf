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
  list_index    = "created-index"
  alias_name    = "live"
  provisioned   = var.billing_mode == "PROVISIONED"
  kms_key_arn   = var.kms_key_enabled ? aws_kms_key.main[0].arn : null

  # The function's configuration, once: the names the code reads (lambda/users_api).
  function_environment = {
    USERS_TABLE       = aws_dynamodb_table.users.name
    EMAILS_TABLE      = aws_dynamodb_table.user_emails.name
    IDEMPOTENCY_TABLE = aws_dynamodb_table.idempotency.name
    LIST_INDEX        = local.list_index
    LOG_LEVEL         = var.log_level
    # auth.tf: what the gateway checked, and what the function lets a caller do.
    AUTHORIZATION = var.authorization
    ADMIN_SCOPE   = var.admin_scope
    PROFILE_READS = var.profile_reads
  }

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
# Every table: on-demand or provisioned (capacity.tf scales it), PITR, deletion protection by
# variable, encrypted at rest with the AWS-owned key or, with kms_key_enabled, the stack's CMK.
# With PROVISIONED capacity the numbers below are only the starting point: Application Auto
# Scaling owns the table's capacity from then on, so Terraform ignores it.

resource "aws_dynamodb_table" "users" {
  #checkov:skip=CKV_AWS_119:A customer-managed key is optional (kms_key_enabled, on in prod.tfvars); the default AWS-owned key costs nothing.
  name                        = "${local.prefix}-users"
  billing_mode                = var.billing_mode
  read_capacity               = local.provisioned ? var.provisioned_capacity.read_min : null
  write_capacity              = local.provisioned ? var.provisioned_capacity.write_min : null
  hash_key                    = "user_id"
  deletion_protection_enabled = var.dynamodb_deletion_protection

  attribute {
    name = "user_id"
    type = "S"
  }

  attribute {
    name = "list_shard"
    type = "S"
  }

  attribute {
    name = "created_key"
    type = "S"
  }

  # Newest-first listing: write-sharded (list_shard) so creates spread over partitions, sorted by
  # created_key. KEYS_ONLY: a name or email change never rewrites the index entry.
  global_secondary_index {
    name            = local.list_index
    hash_key        = "list_shard"
    range_key       = "created_key"
    projection_type = "KEYS_ONLY"
    read_capacity   = local.provisioned ? var.provisioned_capacity.read_min : null
    write_capacity  = local.provisioned ? var.provisioned_capacity.write_min : null
  }

  point_in_time_recovery {
    enabled = true
  }

  server_side_encryption {
    enabled     = var.kms_key_enabled
    kms_key_arn = local.kms_key_arn
  }

  lifecycle {
    ignore_changes = [read_capacity, write_capacity]
  }
}

# One item per email in use; creating it inside the same transaction as the user makes the
# uniqueness hold under concurrent requests, and a consistent read of it finds a user by email.
resource "aws_dynamodb_table" "user_emails" {
  #checkov:skip=CKV_AWS_119:A customer-managed key is optional (kms_key_enabled, on in prod.tfvars); the default AWS-owned key costs nothing.
  name                        = "${local.prefix}-user-emails"
  billing_mode                = var.billing_mode
  read_capacity               = local.provisioned ? var.provisioned_capacity.read_min : null
  write_capacity              = local.provisioned ? var.provisioned_capacity.write_min : null
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
    enabled     = var.kms_key_enabled
    kms_key_arn = local.kms_key_arn
  }

  lifecycle {
    ignore_changes = [read_capacity, write_capacity]
  }
}

# Idempotency-Key records of POST /users: DynamoDB's TTL deletes each one after expires_at
# (epoch seconds), at no write cost.
resource "aws_dynamodb_table" "idempotency" {
  #checkov:skip=CKV_AWS_119:A customer-managed key is optional (kms_key_enabled, on in prod.tfvars); the default AWS-owned key costs nothing.
  name                        = "${local.prefix}-idempotency"
  billing_mode                = var.billing_mode
  read_capacity               = local.provisioned ? var.provisioned_capacity.read_min : null
  write_capacity              = local.provisioned ? var.provisioned_capacity.write_min : null
  hash_key                    = "idempotency_key"
  deletion_protection_enabled = var.dynamodb_deletion_protection

  attribute {
    name = "idempotency_key"
    type = "S"
  }

  ttl {
    enabled        = true
    attribute_name = "expires_at"
  }

  point_in_time_recovery {
    enabled = true
  }

  server_side_encryption {
    enabled     = var.kms_key_enabled
    kms_key_arn = local.kms_key_arn
  }

  lifecycle {
    ignore_changes = [read_capacity, write_capacity]
  }
}

# --- Lambda -----------------------------------------------------------------------------------

# Created by Terraform before the function, so retention applies and destroy removes it; Lambda
# would otherwise create it on first invocation and keep it forever.
resource "aws_cloudwatch_log_group" "function" {
  #checkov:skip=CKV_AWS_158:A customer-managed key is optional (kms_key_enabled, on in prod.tfvars); CloudWatch Logs encrypts with its own key otherwise.
  #checkov:skip=CKV_AWS_338:Retention is the log_retention_days variable: 14 days keeps a dev stack cheap, prod.tfvars sets 365.
  name              = "/aws/lambda/${local.function_name}"
  retention_in_days = var.log_retention_days
  kms_key_id        = local.kms_key_arn
}

resource "aws_lambda_function" "users_api" {
  #checkov:skip=CKV_AWS_116:Invoked synchronously by the HTTP API only; a DLQ receives only asynchronous invocations' failures.
  #checkov:skip=CKV_AWS_117:The function reaches only DynamoDB and CloudWatch over IAM-authenticated HTTPS; a VPC would add NAT or endpoint cost and cold-start time, no protection.
  #checkov:skip=CKV_AWS_272:Deployed by Terraform from a package built and hashed in this repository; code signing needs a Signer profile the project does not run.
  #checkov:skip=CKV_AWS_173:The environment holds table names only; a customer-managed key for it is optional (kms_key_enabled, on in prod.tfvars).
  #checkov:skip=CKV_AWS_115:Reserved concurrency is lambda_reserved_concurrency (null = the account's shared pool keeps a dev stack simple; prod.tfvars reserves).
  #checkov:skip=CKV_AWS_50:X-Ray is the tracing_enabled variable (off by default: traces cost per request).
  function_name                  = local.function_name
  description                    = "Users API behind the ${local.prefix} HTTP API"
  role                           = aws_iam_role.function.arn
  handler                        = "users_api.app.handler"
  runtime                        = var.lambda_runtime
  architectures                  = [var.lambda_architecture]
  memory_size                    = var.lambda_memory_mb
  timeout                        = var.lambda_timeout_seconds
  filename                       = local.lambda_package_path
  source_code_hash               = local.lambda_package_hash
  kms_key_arn                    = local.kms_key_arn
  reserved_concurrent_executions = coalesce(var.lambda_reserved_concurrency, -1)
  # Every change publishes a new version; the API invokes the `live` alias, which points at it
  # (or at lambda_live_version, to roll back).
  publish = true

  environment {
    variables = local.function_environment
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

  dynamic "snap_start" {
    for_each = var.lambda_snap_start ? [1] : []

    content {
      apply_on = "PublishedVersions"
    }
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

    precondition {
      condition     = !var.lambda_snap_start || (!contains(["python3.10", "python3.11"], var.lambda_runtime) && var.lambda_provisioned_concurrency == 0)
      error_message = "lambda_snap_start needs python3.12 or later and lambda_provisioned_concurrency = 0 (Lambda does not combine SnapStart with provisioned concurrency)."
    }
  }
}

# The API invokes this alias, never $LATEST: a bad deploy is rolled back by pointing it at the
# previous version (lambda_live_version), without a rebuild. With a gradual deployment_strategy
# CodeDeploy moves it instead (aws_lambda_alias.live_shifted, codedeploy.tf).
resource "aws_lambda_alias" "live" {
  count = local.gradual_deploys ? 0 : 1

  name             = local.alias_name
  description      = "The version the HTTP API invokes"
  function_name    = aws_lambda_function.users_api.function_name
  function_version = coalesce(var.lambda_live_version, aws_lambda_function.users_api.version)
}

moved {
  from = aws_lambda_alias.live
  to   = aws_lambda_alias.live[0]
}

resource "aws_lambda_provisioned_concurrency_config" "live" {
  count = var.lambda_provisioned_concurrency > 0 ? 1 : 0

  function_name                     = local.live_alias.function_name
  qualifier                         = local.live_alias.name
  provisioned_concurrent_executions = var.lambda_provisioned_concurrency
}

# --- HTTP API ---------------------------------------------------------------------------------

resource "aws_apigatewayv2_api" "users" {
  name          = local.prefix
  description   = "Users API (${var.environment})"
  protocol_type = "HTTP"

  cors_configuration {
    allow_origins  = var.cors_allowed_origins
    allow_methods  = ["DELETE", "GET", "OPTIONS", "PATCH", "POST", "PUT"]
    allow_headers  = ["authorization", "content-type", "idempotency-key", "if-match", "x-amz-content-sha256", "x-amz-date", "x-amz-security-token"]
    expose_headers = ["etag", "idempotent-replayed", "location", "retry-after", "x-request-id"]
    max_age        = 3600
  }
}

resource "aws_apigatewayv2_integration" "users_api" {
  api_id                 = aws_apigatewayv2_api.users.id
  integration_type       = "AWS_PROXY"
  integration_method     = "POST"
  integration_uri        = local.live_alias.invoke_arn
  payload_format_version = "2.0"
  # Just under the function's limit, which stays under the HTTP API's own 30 s.
  timeout_milliseconds = var.lambda_timeout_seconds * 1000 + 500
}

resource "aws_apigatewayv2_route" "users_api" {
  #checkov:skip=CKV_AWS_309:Authorization is the `authorization` variable (JWT in prod.tfvars); a dev stack is open so it can be tried with curl.
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
  #checkov:skip=CKV_AWS_158:A customer-managed key is optional (kms_key_enabled, on in prod.tfvars); CloudWatch Logs encrypts with its own key otherwise.
  #checkov:skip=CKV_AWS_338:Retention is the log_retention_days variable: 14 days keeps a dev stack cheap, prod.tfvars sets 365.
  name              = "/aws/apigateway/${local.prefix}/access"
  retention_in_days = var.log_retention_days
  kms_key_id        = local.kms_key_arn
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
  qualifier     = local.live_alias.name
  principal     = "apigateway.amazonaws.com"
  # Any stage and route of this API, and no other API.
  source_arn = "${aws_apigatewayv2_api.users.execution_arn}/*/*"
}
