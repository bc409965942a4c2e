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
  alias_name    = "live"
  provisioned   = var.billing_mode == "PROVISIONED"
  kms_key_arn   = var.kms_key_enabled ? aws_kms_key.main[0].arn : null
  runtime_dates = jsondecode(file("${path.module}/lambda/runtimes.json"))[var.lambda_runtime]

  # The function's configuration, once: the names the code reads (lambda/users_api); every
  # table of local.tables reaches it as <KEY>_TABLE.
  function_environment = merge(
    { for key, table in aws_dynamodb_table.tables : upper("${key}_TABLE") => table.name },
    {
      LIST_INDEX = one(keys(local.tables.users.indexes)) # the newest-first listing
      LOG_LEVEL  = var.log_level
      # auth.tf: what the gateway checked, and what the function lets a caller do.
      AUTHORIZATION = var.authorization
      ADMIN_SCOPE   = var.admin_scope
      PROFILE_READS = var.profile_reads
    },
  )

  # The API's contract, once: every operation of the committed openapi.json (which `make openapi`
  # builds from the function's route table) is a route, keyed "METHOD /path" as API Gateway keys
  # them (OpenAPI's `{user_id}` path parameters are API Gateway's too). `$default` sends every
  # other request to the function as well, so it answers unknown paths with its JSON 404 and
  # wrong methods with 405 + Allow.
  openapi      = jsondecode(file("${path.module}/openapi.json"))
  http_methods = ["delete", "get", "head", "options", "patch", "post", "put", "trace"]
  routes = merge([
    for path, item in local.openapi.paths : {
      for method, operation in item : "${upper(method)} ${path}" => {
        path      = path
        operation = operation
      } if contains(local.http_methods, method)
    }
  ]...)
  route_keys = concat(keys(local.routes), ["$default"])

  # Every table's facts, once. Everything else about a table is derived from its entry through
  # for_each: the table itself (below), the function's IAM statements (iam.tf: one per table and
  # one per index, with these sids and exactly these actions), capacity and auto scaling
  # (capacity.tf), alarms and the dashboard (monitoring.tf), outputs and SSM parameters. A key
  # names the table's address (aws_dynamodb_table.tables["users"]), its alarms
  # (<prefix>-dynamodb-<key>-...), its SSM parameter (<key>_table), its `tables` output entry and
  # the function's <KEY>_TABLE variable; `name` is the table's name after "<name>-<environment>-".
  # Adding a table is adding an entry (docs/extending.md).
  #
  #   hash_key, range_key   the key schema (range_key null: none)
  #   attributes            name => DynamoDB type ("S", "N", "B") of every key attribute
  #   indexes               global secondary indexes: name => keys, projection, and the IAM
  #                         statement (sid, actions) the function needs on the index
  #   ttl_attribute         DynamoDB's TTL deletes an item after this epoch-seconds attribute
  #   sid, actions          the function's IAM statement on the table
  #   transactions          the function writes it inside TransactWriteItems (its metrics and
  #                         the transaction-conflict alarm)
  tables = {
    users = {
      name       = "users"
      hash_key   = "user_id"
      range_key  = null
      attributes = { user_id = "S", list_shard = "S", created_key = "S" }
      # Newest-first listing: write-sharded (list_shard) so creates spread over partitions,
      # sorted by created_key. KEYS_ONLY: a name or email change never rewrites the index entry.
      indexes = {
        "created-index" = {
          hash_key        = "list_shard"
          range_key       = "created_key"
          projection_type = "KEYS_ONLY"
          sid             = "ListUsersNewestFirst"
          actions         = ["dynamodb:Query"]
        }
      }
      ttl_attribute = null
      sid           = "ReadAndWriteUsers"
      actions = [
        "dynamodb:BatchGetItem",
        "dynamodb:DeleteItem",
        "dynamodb:GetItem",
        "dynamodb:PutItem",
        "dynamodb:UpdateItem",
      ]
      transactions = true
    }

    # One item per email in use; creating it inside the same transaction as the user makes the
    # uniqueness hold under concurrent requests, and a consistent read of it finds a user by
    # email. Put/Delete run inside TransactWriteItems, which IAM authorises per contained
    # action; GetItem is the consistent email -> user_id lookup.
    emails = {
      name          = "user-emails"
      hash_key      = "email"
      range_key     = null
      attributes    = { email = "S" }
      indexes       = {}
      ttl_attribute = null
      sid           = "ClaimLookUpAndReleaseEmails"
      actions = [
        "dynamodb:DeleteItem",
        "dynamodb:GetItem",
        "dynamodb:PutItem",
      ]
      transactions = true
    }

    # Idempotency-Key records of POST /users: DynamoDB's TTL deletes each one after expires_at
    # (epoch seconds), at no write cost.
    idempotency = {
      name          = "idempotency"
      hash_key      = "idempotency_key"
      range_key     = null
      attributes    = { idempotency_key = "S" }
      indexes       = {}
      ttl_attribute = "expires_at"
      sid           = "RecordIdempotencyKeys"
      actions = [
        "dynamodb:DeleteItem",
        "dynamodb:PutItem",
        "dynamodb:UpdateItem",
      ]
      transactions = false
    }
  }
}

# --- DynamoDB ---------------------------------------------------------------------------------
# Every table of local.tables: on-demand or provisioned (capacity.tf scales it), PITR, deletion
# protection by variable, encrypted at rest with the AWS-owned key or, with kms_key_enabled, the
# stack's CMK. With PROVISIONED capacity the numbers below are only the starting point:
# Application Auto Scaling owns the capacity of every table *and index* from then on, so
# Terraform ignores both (see the lifecycle block).

resource "aws_dynamodb_table" "tables" {
  #checkov:skip=CKV_AWS_119:A customer-managed key is optional (kms_key_enabled, on in prod.tfvars); the default AWS-owned key costs nothing.
  for_each = local.tables

  name                        = "${local.prefix}-${each.value.name}"
  billing_mode                = var.billing_mode
  read_capacity               = local.provisioned ? var.provisioned_capacity.read_min : null
  write_capacity              = local.provisioned ? var.provisioned_capacity.write_min : null
  hash_key                    = each.value.hash_key
  range_key                   = each.value.range_key
  deletion_protection_enabled = var.dynamodb_deletion_protection

  dynamic "attribute" {
    for_each = each.value.attributes

    content {
      name = attribute.key
      type = attribute.value
    }
  }

  dynamic "global_secondary_index" {
    for_each = each.value.indexes

    content {
      name            = global_secondary_index.key
      hash_key        = global_secondary_index.value.hash_key
      range_key       = global_secondary_index.value.range_key
      projection_type = global_secondary_index.value.projection_type
      read_capacity   = local.provisioned ? var.provisioned_capacity.read_min : null
      write_capacity  = local.provisioned ? var.provisioned_capacity.write_min : null
    }
  }

  dynamic "ttl" {
    for_each = each.value.ttl_attribute == null ? [] : [each.value.ttl_attribute]

    content {
      enabled        = true
      attribute_name = ttl.value
    }
  }

  point_in_time_recovery {
    enabled = true
  }

  server_side_encryption {
    enabled     = var.kms_key_enabled
    kms_key_arn = local.kms_key_arn
  }

  lifecycle {
    # global_secondary_index: an index's capacity lives inside the index block (a set), and
    # ignore_changes cannot name one attribute of a set's elements; without it, the plan after
    # auto scaling moved an index would set it back (and, through iam.tf's document, rewrite
    # the function's policy). The price: Terraform creates a table's indexes but does not change
    # them later; the `table_indexes` check below says when the map and a table disagree.
    ignore_changes = [read_capacity, write_capacity, global_secondary_index]
  }
}

# The tables were three resources before the tables map; an existing state keeps every table.
moved {
  from = aws_dynamodb_table.users
  to   = aws_dynamodb_table.tables["users"]
}

moved {
  from = aws_dynamodb_table.user_emails
  to   = aws_dynamodb_table.tables["emails"]
}

moved {
  from = aws_dynamodb_table.idempotency
  to   = aws_dynamodb_table.tables["idempotency"]
}

# Changing an index of an existing table is not applied (ignore_changes above): say so, rather
# than plan nothing in silence.
check "table_indexes" {
  assert {
    condition = alltrue([
      for key, table in local.tables : (
        toset([
          for index in aws_dynamodb_table.tables[key].global_secondary_index :
          jsonencode([index.name, index.hash_key, coalesce(index.range_key, "-"), index.projection_type])
        ]) ==
        toset([
          for name, index in table.indexes :
          jsonencode([name, index.hash_key, coalesce(index.range_key, "-"), index.projection_type])
        ])
      )
    ])
    error_message = "The indexes in local.tables differ from the tables' own: Terraform creates a table's indexes but does not change an existing table's (its index capacity belongs to auto scaling). Add or change the index with `aws dynamodb update-table`, or create the table anew."
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
      error_message = "The package was built for ${local.lambda_package_manifest.runtime}/${local.lambda_package_manifest.architecture} (bytecode ${local.lambda_package_manifest.bytecode}), but the function is ${var.lambda_runtime}/${var.lambda_architecture} (bytecode ${var.lambda_bytecode}): build it with this configuration's variables (package.tf does at every plan; offline, tools/localaws/stage.py)."
    }

    precondition {
      condition     = !var.lambda_snap_start || (!contains(["python3.10", "python3.11"], var.lambda_runtime) && var.lambda_provisioned_concurrency == 0)
      error_message = "lambda_snap_start needs python3.12 or later and lambda_provisioned_concurrency = 0 (Lambda does not combine SnapStart with provisioned concurrency)."
    }
  }
}

# AWS's dates of the function's runtime (lambda/runtimes.json): a warning from 180 days before
# its deprecation (no more security patches) on; past its block-function-update date
# lambda_runtime's validation refuses the plan outright.
check "lambda_runtime_support" {
  assert {
    condition     = timecmp(plantimestamp(), timeadd("${local.runtime_dates.deprecation}T00:00:00Z", "-4320h")) < 0
    error_message = "lambda_runtime ${var.lambda_runtime} is deprecated by AWS on ${local.runtime_dates.deprecation} (no security patches after it), and from ${local.runtime_dates.block_function_update} Lambda refuses to update functions on it: move to a newer runtime of lambda/runtimes.json."
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

    precondition {
      # auth.tf's public_paths decide; a document that marks an operation public (an empty
      # `security`) must agree with them.
      condition     = contains(local.public_route_keys, each.value) || try(length(local.routes[each.value].operation.security) > 0, true)
      error_message = "openapi.json marks ${each.value} public (security: []), but auth.tf's public_paths do not hold its path: add it there, or drop the mark."
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
