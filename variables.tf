variable "name" {
  type        = string
  description = "Name prefix of every resource; with `environment` it makes names unique, so several stacks share an account."
  default     = "users-api"

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{1,30}[a-z0-9]$", var.name))
    error_message = "name must be 3-32 characters of lower-case letters, digits and hyphens, starting with a letter and not ending with a hyphen."
  }
}

variable "environment" {
  type        = string
  description = "Deployment environment: dev, staging or prod, or pr-<number> for a pull request's preview stack (.github/workflows/preview.yml)."
  default     = "dev"

  validation {
    condition     = contains(["dev", "staging", "prod"], var.environment) || can(regex("^pr-[1-9][0-9]{0,6}$", var.environment))
    error_message = "environment must be one of dev, staging, prod, or pr-<pull request number>."
  }
}

variable "aws_region" {
  type        = string
  description = "AWS region to deploy to; null uses the standard AWS configuration (AWS_REGION or the profile's region)."
  default     = null
}

variable "tags" {
  type        = map(string)
  description = "Extra tags for every resource (Project, Environment and ManagedBy are always set)."
  default     = {}
}

variable "lambda_runtime" {
  type        = string
  description = "Python runtime of the function, one of lambda/runtimes.json (the code needs 3.11+; the file holds AWS's deprecation and block-function-update dates of each, and the plan refuses a runtime past its block date); the plan builds the package for it."
  default     = "python3.13"

  validation {
    condition     = contains(keys(jsondecode(file("${path.module}/lambda/runtimes.json"))), var.lambda_runtime)
    error_message = "lambda_runtime must be one of ${join(", ", keys(jsondecode(file("${path.module}/lambda/runtimes.json"))))}."
  }

  # From AWS's block-function-update date on, Lambda refuses to update a function on the runtime:
  # the apply would fail half-way, so the plan refuses first. (Unknown at `terraform validate`.)
  validation {
    condition     = try(timecmp(plantimestamp(), "${jsondecode(file("${path.module}/lambda/runtimes.json"))[var.lambda_runtime].block_function_update}T00:00:00Z") < 0, true)
    error_message = "lambda_runtime ${var.lambda_runtime} is past its block-function-update date (${try(jsondecode(file("${path.module}/lambda/runtimes.json"))[var.lambda_runtime].block_function_update, "-")}, lambda/runtimes.json): Lambda no longer updates functions on it. Choose a newer runtime."
  }
}

variable "lambda_architecture" {
  type        = string
  description = "Instruction set of the function; the plan installs the dependencies' wheels for it."
  default     = "x86_64"

  validation {
    condition     = contains(["x86_64", "arm64"], var.lambda_architecture)
    error_message = "lambda_architecture must be x86_64 or arm64."
  }
}

variable "lambda_bytecode" {
  type        = bool
  description = "Ship the package with .pyc files so a cold start compiles nothing; they are compiled by the runtime's own CPython (e.g. python3.13), which must then be installed on the machine that plans."
  default     = false
}

variable "lambda_memory_mb" {
  type        = number
  description = "Memory of the function in MB (CPU scales with it)."
  default     = 256

  validation {
    condition     = var.lambda_memory_mb >= 128 && var.lambda_memory_mb <= 10240 && floor(var.lambda_memory_mb) == var.lambda_memory_mb
    error_message = "lambda_memory_mb must be a whole number from 128 to 10240."
  }
}

variable "lambda_timeout_seconds" {
  type        = number
  description = "Timeout of the function in seconds: at least 6 (one DynamoDB attempt may take 3 s and the function keeps 3.5 s to answer in time), under the HTTP API's 30 s integration limit."
  default     = 10

  validation {
    condition     = var.lambda_timeout_seconds >= 6 && var.lambda_timeout_seconds < 30 && floor(var.lambda_timeout_seconds) == var.lambda_timeout_seconds
    error_message = "lambda_timeout_seconds must be a whole number from 6 to 29 (the function stops retrying 3.5 s before its timeout; the HTTP API gives up after 30 s)."
  }
}

variable "log_level" {
  type        = string
  description = "Application log level of the function (LOG_LEVEL and Lambda's application_log_level)."
  default     = "INFO"

  validation {
    condition     = contains(["DEBUG", "INFO", "WARN", "ERROR"], var.log_level)
    error_message = "log_level must be one of DEBUG, INFO, WARN, ERROR."
  }
}

variable "log_retention_days" {
  type        = number
  description = "Retention of the function's and the access logs, in days (a value CloudWatch Logs allows)."
  default     = 14

  validation {
    condition     = contains([1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653], var.log_retention_days)
    error_message = "log_retention_days must be one of 1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653."
  }
}

variable "tracing_enabled" {
  type        = bool
  description = "Send X-Ray traces from the function (grants xray:PutTraceSegments/PutTelemetryRecords)."
  default     = false
}

variable "cors_allowed_origins" {
  type        = list(string)
  description = "Origins browsers may call the API from, e.g. [\"https://app.example.com\"]; [\"*\"] allows any (no credentials are allowed)."
  default     = ["*"]

  validation {
    condition     = length(var.cors_allowed_origins) > 0 && alltrue([for origin in var.cors_allowed_origins : origin == "*" || can(regex("^https?://[^/*]+$", origin))])
    error_message = "cors_allowed_origins must hold \"*\" or origins like https://app.example.com (scheme and host, no path)."
  }
}

variable "throttling_burst_limit" {
  type        = number
  description = "Stage-wide burst limit of the HTTP API (requests)."
  default     = 100

  validation {
    condition     = var.throttling_burst_limit > 0 && floor(var.throttling_burst_limit) == var.throttling_burst_limit
    error_message = "throttling_burst_limit must be a positive whole number."
  }
}

variable "throttling_rate_limit" {
  type        = number
  description = "Stage-wide steady-state rate limit of the HTTP API (requests per second)."
  default     = 50

  validation {
    condition     = var.throttling_rate_limit > 0
    error_message = "throttling_rate_limit must be positive."
  }
}

variable "dynamodb_deletion_protection" {
  type        = bool
  description = "Protect every table from deletion; turn on for prod (terraform destroy then fails until it is turned off)."
  default     = false
}

# --- Operations (issue 15): every switch defaults to the cheap, simple dev stack ---------------

variable "alarms_enabled" {
  type        = bool
  description = "Create the CloudWatch alarms (Lambda, HTTP API, DynamoDB) and send them to an SNS topic (about $0.10 per alarm metric per month)."
  default     = false
}

variable "alarm_email" {
  type        = string
  description = "E-mail address subscribed to the alarm topic this stack creates (AWS e-mails a confirmation link first); null subscribes nobody."
  default     = null

  validation {
    condition     = var.alarm_email == null || can(regex("^[^@\\s]+@[^@\\s]+\\.[^@\\s]+$", var.alarm_email))
    error_message = "alarm_email must be an e-mail address like ops@example.com, or null."
  }
}

variable "alarm_topic_arn" {
  type        = string
  description = "ARN of an existing SNS topic for the alarms (e.g. the team's paging topic); null creates a topic in this stack."
  default     = null

  validation {
    condition     = var.alarm_topic_arn == null || can(regex("^arn:aws[a-z-]*:sns:[a-z0-9-]+:[0-9]{12}:[A-Za-z0-9_-]{1,256}(\\.fifo)?$", var.alarm_topic_arn))
    error_message = "alarm_topic_arn must be an SNS topic ARN (arn:aws:sns:<region>:<account>:<topic>), or null."
  }
}

variable "alarm_thresholds" {
  type = object({
    lambda_errors                   = optional(number, 1)
    lambda_throttles                = optional(number, 1)
    lambda_duration_percent_timeout = optional(number, 80)
    api_5xx_rate_percent            = optional(number, 1)
    api_4xx_rate_percent            = optional(number, 10)
    api_latency_p99_ms              = optional(number, 2000)
    dynamodb_throttles              = optional(number, 1)
    dynamodb_system_errors          = optional(number, 1)
    dynamodb_transaction_conflicts  = optional(number, 10)
  })
  description = "Alarm thresholds per 5-minute period: counts for errors/throttles/conflicts, percent of requests for the 4xx/5xx rates, p99 duration as a percent of the function's timeout, p99 API latency in ms. Unset fields keep their defaults."
  default     = {}

  validation {
    condition = alltrue([for value in values(var.alarm_thresholds) : value > 0]) && (
      var.alarm_thresholds.lambda_duration_percent_timeout <= 100 &&
      var.alarm_thresholds.api_5xx_rate_percent <= 100 &&
      var.alarm_thresholds.api_4xx_rate_percent <= 100
    )
    error_message = "alarm_thresholds must all be positive, and the percentages at most 100."
  }
}

variable "dashboard_enabled" {
  type        = bool
  description = "Create one CloudWatch dashboard for the stack (the first 3 dashboards of an account are free, then $3 per month each)."
  default     = true
}

variable "parameters_enabled" {
  type        = bool
  description = "Publish the API URL, table names and function name as SSM parameters under /<name>/<environment>/ (standard parameters, free)."
  default     = true
}

variable "billing_mode" {
  type        = string
  description = "DynamoDB capacity of every table and index: PAY_PER_REQUEST (on-demand) or PROVISIONED with Application Auto Scaling between the provisioned_capacity bounds."
  default     = "PAY_PER_REQUEST"

  validation {
    condition     = contains(["PAY_PER_REQUEST", "PROVISIONED"], var.billing_mode)
    error_message = "billing_mode must be PAY_PER_REQUEST or PROVISIONED."
  }
}

variable "provisioned_capacity" {
  type = object({
    read_min                   = optional(number, 2)
    read_max                   = optional(number, 20)
    write_min                  = optional(number, 2)
    write_max                  = optional(number, 20)
    target_utilization_percent = optional(number, 70)
  })
  description = "With billing_mode = PROVISIONED: the auto-scaling bounds (capacity units) of every table and index, and the consumed/provisioned utilisation that target tracking holds."
  default     = {}

  validation {
    condition = (
      alltrue([for value in values(var.provisioned_capacity) : value == floor(value) && value >= 1]) &&
      var.provisioned_capacity.read_min <= var.provisioned_capacity.read_max &&
      var.provisioned_capacity.write_min <= var.provisioned_capacity.write_max &&
      var.provisioned_capacity.target_utilization_percent >= 20 &&
      var.provisioned_capacity.target_utilization_percent <= 90
    )
    error_message = "provisioned_capacity must hold whole numbers >= 1 with read_min <= read_max and write_min <= write_max, and target_utilization_percent from 20 to 90 (what DynamoDB auto scaling accepts)."
  }
}

variable "lambda_reserved_concurrency" {
  type        = number
  description = "Concurrent executions reserved for (and capping) the function; null leaves it unreserved, in the account's shared pool."
  default     = null

  validation {
    condition     = var.lambda_reserved_concurrency == null || try(var.lambda_reserved_concurrency >= 1 && floor(var.lambda_reserved_concurrency) == var.lambda_reserved_concurrency, false)
    error_message = "lambda_reserved_concurrency must be a whole number >= 1, or null (unreserved)."
  }
}

variable "lambda_provisioned_concurrency" {
  type        = number
  description = "Pre-initialised execution environments on the `live` alias (billed while configured, whether used or not); 0 for none."
  default     = 0

  validation {
    condition     = var.lambda_provisioned_concurrency >= 0 && floor(var.lambda_provisioned_concurrency) == var.lambda_provisioned_concurrency
    error_message = "lambda_provisioned_concurrency must be a whole number >= 0."
  }
}

variable "lambda_snap_start" {
  type        = bool
  description = "Lambda SnapStart on published versions (python3.12+; not together with provisioned concurrency): restores a snapshot of the initialised function instead of a cold init."
  default     = false
}

variable "lambda_live_version" {
  type        = string
  description = "Version the `live` alias (which the API invokes) points at; null is the version this apply publishes. Set it to a previous version number to roll back."
  default     = null

  validation {
    condition     = var.lambda_live_version == null || can(regex("^[1-9][0-9]*$", var.lambda_live_version))
    error_message = "lambda_live_version must be a published version number such as \"3\", or null."
  }
}

variable "custom_domain_name" {
  type        = string
  description = "Custom domain of the API, e.g. api.example.com (needs custom_domain_certificate_arn); null keeps the execute-api URL."
  default     = null

  validation {
    condition     = var.custom_domain_name == null || can(regex("^([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\\.)+[a-z]{2,63}$", var.custom_domain_name))
    error_message = "custom_domain_name must be a lower-case DNS name like api.example.com, or null."
  }
}

variable "custom_domain_certificate_arn" {
  type        = string
  description = "ARN of an issued ACM certificate for custom_domain_name, in the stack's region (a regional endpoint)."
  default     = null

  validation {
    condition     = var.custom_domain_certificate_arn == null || can(regex("^arn:aws[a-z-]*:acm:[a-z0-9-]+:[0-9]{12}:certificate/[0-9a-f-]+$", var.custom_domain_certificate_arn))
    error_message = "custom_domain_certificate_arn must be an ACM certificate ARN, or null."
  }
}

variable "route53_zone_id" {
  type        = string
  description = "Route 53 hosted zone of custom_domain_name; given, the stack creates the alias A record pointing the domain at the API. null leaves DNS to you."
  default     = null

  validation {
    condition     = var.route53_zone_id == null || can(regex("^[A-Z0-9]{1,32}$", var.route53_zone_id))
    error_message = "route53_zone_id must be a hosted zone id (upper-case letters and digits) like Z0123456789ABCDEFGHIJ, without /hostedzone/, or null."
  }
}

variable "kms_key_enabled" {
  type        = bool
  description = "Encrypt the tables, both log groups, the function's environment and the alarm topic with a customer-managed KMS key created here ($1 per month plus requests); false keeps AWS-owned keys."
  default     = false
}

variable "kms_key_deletion_window_days" {
  type        = number
  description = "Days a destroyed customer-managed key waits before KMS deletes it (and everything it encrypted becomes unreadable)."
  default     = 30

  validation {
    condition     = var.kms_key_deletion_window_days >= 7 && var.kms_key_deletion_window_days <= 30 && floor(var.kms_key_deletion_window_days) == var.kms_key_deletion_window_days
    error_message = "kms_key_deletion_window_days must be a whole number from 7 to 30."
  }
}

variable "lambda_permissions_boundary_arn" {
  type        = string
  description = "Permissions boundary of the function's role (bootstrap/'s function_permissions_boundary_arns, which its deploy roles require); null for none."
  default     = null

  validation {
    condition     = var.lambda_permissions_boundary_arn == null || can(regex("^arn:aws[a-z-]*:iam::[0-9]{12}:policy/.+$", var.lambda_permissions_boundary_arn))
    error_message = "lambda_permissions_boundary_arn must be an IAM policy ARN."
  }
}

# --- Authorization (auth.tf) ------------------------------------------------------------------

variable "authorization" {
  type        = string
  description = "Who may call the API: \"NONE\" (open to anyone with the URL), \"JWT\" (a bearer token from jwt_issuer, or from the Cognito user pool with create_user_pool) or \"AWS_IAM\" (SigV4-signed requests; the caller's IAM policy decides). Applies to every route except the public ones (GET /hello, GET /openapi.json)."
  default     = "NONE"

  validation {
    condition     = contains(["NONE", "JWT", "AWS_IAM"], var.authorization)
    error_message = "authorization must be one of NONE, JWT, AWS_IAM."
  }
}

variable "jwt_issuer" {
  type        = string
  description = "With authorization = \"JWT\" and no Cognito pool: the OIDC issuer URL, exactly as in the tokens' iss claim (e.g. https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_AbC, https://example.eu.auth0.com/). It must be https://; http://127.0.0.1 and http://localhost are accepted only for the local issuer that make local runs."
  default     = null

  validation {
    condition     = var.jwt_issuer == null || can(regex("^(https://[^\\s/]+(/\\S*)?|http://(127\\.0\\.0\\.1|localhost)(:[0-9]+)?(/\\S*)?)$", var.jwt_issuer))
    error_message = "jwt_issuer must be an https:// URL (http:// only for 127.0.0.1 or localhost, the local issuer)."
  }
}

variable "jwt_audience" {
  type        = list(string)
  description = "With authorization = \"JWT\" and no Cognito pool: the accepted audiences; a token's aud (or client_id, when it has no aud) must be one of them."
  default     = []

  validation {
    condition     = alltrue([for audience in var.jwt_audience : trimspace(audience) != ""])
    error_message = "jwt_audience must not hold empty strings."
  }
}

variable "create_user_pool" {
  type        = bool
  description = "With authorization = \"JWT\": create a Cognito user pool, an app client for users and a client-credentials client holding admin_scope, and use them as the issuer and audience (jwt_issuer and jwt_audience must then be left unset)."
  default     = false
}

variable "admin_scope" {
  type        = string
  description = "OAuth scope that grants every operation, including listing users and looking them up by email (ADMIN_SCOPE). With create_user_pool it is made of the pool's resource server and scope, \"<resource server>/<scope>\"."
  default     = "users/admin"

  validation {
    condition     = can(regex("^[A-Za-z0-9_.:-]+/[A-Za-z0-9_.-]+$", var.admin_scope))
    error_message = "admin_scope must look like \"<resource server>/<scope>\", e.g. users/admin."
  }
}

variable "profile_reads" {
  type        = string
  description = "Whose profiles a signed-in caller may read (PROFILE_READS): \"self\" (only its own) or \"any\" (any user's, by id). Writes are always owner-only; admin_scope may do everything."
  default     = "self"

  validation {
    condition     = contains(["self", "any"], var.profile_reads)
    error_message = "profile_reads must be self or any."
  }
}

# --- Delivery (codedeploy.tf) -------------------------------------------------------------------

variable "deployment_strategy" {
  type = object({
    type             = string
    percentage       = optional(number, 10)
    interval_minutes = optional(number, 5)
  })
  description = "How a new version reaches the `live` alias. \"all_at_once\" (default): Terraform moves the alias. \"canary\": CodeDeploy sends `percentage` % of requests to the new version for `interval_minutes`, then all. \"linear\": `percentage` % more every `interval_minutes`. Gradual types need alarms_enabled: the stack's error and latency alarms stop the shift and roll back; the pipeline starts the shift (docs/delivery.md)."
  default     = { type = "all_at_once" }

  validation {
    condition     = contains(["all_at_once", "canary", "linear"], var.deployment_strategy.type)
    error_message = "deployment_strategy.type must be all_at_once, canary or linear."
  }

  validation {
    condition = (
      var.deployment_strategy.percentage >= 1 && var.deployment_strategy.percentage <= 99 &&
      floor(var.deployment_strategy.percentage) == var.deployment_strategy.percentage
    )
    error_message = "deployment_strategy.percentage must be a whole number from 1 to 99."
  }

  validation {
    condition = (
      var.deployment_strategy.interval_minutes >= 1 && var.deployment_strategy.interval_minutes <= 60 &&
      floor(var.deployment_strategy.interval_minutes) == var.deployment_strategy.interval_minutes
    )
    error_message = "deployment_strategy.interval_minutes must be a whole number from 1 to 60."
  }

  validation {
    condition     = var.deployment_strategy.type == "all_at_once" || var.alarms_enabled
    error_message = "A canary or linear deployment_strategy needs alarms_enabled = true: its alarms are what stops a bad version and rolls it back."
  }
}
