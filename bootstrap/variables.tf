variable "name" {
  type        = string
  description = "Name prefix of the stack this bootstrap serves (the main stack's var.name): roles, policies and state keys are named after it."
  default     = "users-api"

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{1,30}[a-z0-9]$", var.name))
    error_message = "name must be 3-32 characters of lower-case letters, digits and hyphens, starting with a letter and not ending with a hyphen."
  }
}

variable "aws_region" {
  type        = string
  description = "Region of the state bucket and of the stacks the deploy roles may manage; null uses the standard AWS configuration (AWS_REGION or the profile's region)."
  default     = null

  validation {
    condition     = var.aws_region == null || can(regex("^[a-z]{2}(-[a-z]+)+-[0-9]$", var.aws_region))
    error_message = "aws_region must be a region name such as eu-west-1."
  }
}

variable "github_repository" {
  type        = string
  description = "The GitHub repository whose workflows may assume the roles, as owner/name (e.g. octo-org/users-api)."

  validation {
    condition     = can(regex("^[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})/[A-Za-z0-9._-]{1,100}$", var.github_repository))
    error_message = "github_repository must be owner/name: an owner of letters, digits and hyphens, a name of letters, digits, '.', '_' and '-'."
  }
}

variable "environments" {
  type        = list(string)
  description = "Environments that get a deploy role and a state key, each a GitHub environment of the same name."
  default     = ["dev", "prod"]

  validation {
    condition     = length(var.environments) > 0 && length(distinct(var.environments)) == length(var.environments) && alltrue([for env in var.environments : contains(["dev", "staging", "prod"], env)])
    error_message = "environments must be a non-empty list of distinct values from dev, staging, prod."
  }
}

variable "state_bucket_name" {
  type        = string
  description = "Name of the S3 state bucket; null makes \"<name>-tfstate-<account id>\" (bucket names are global, the account id keeps it unique)."
  default     = null

  # S3's naming rules, minus dots: a dotted name breaks TLS on virtual-hosted-style requests.
  validation {
    condition = var.state_bucket_name == null || (
      can(regex("^[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$", var.state_bucket_name)) &&
      !startswith(coalesce(var.state_bucket_name, "-"), "xn--") &&
      !startswith(coalesce(var.state_bucket_name, "-"), "sthree-") &&
      !endswith(coalesce(var.state_bucket_name, "-"), "-s3alias") &&
      !endswith(coalesce(var.state_bucket_name, "-"), "--ol-s3")
    )
    error_message = "state_bucket_name must be 3-63 lower-case letters, digits and hyphens, starting and ending with a letter or digit, without the reserved xn--/sthree- prefixes or -s3alias/--ol-s3 suffixes."
  }
}

variable "noncurrent_state_version_days" {
  type        = number
  description = "Days a superseded state version is kept before S3 expires it (the history you can roll back to)."
  default     = 90

  validation {
    condition     = var.noncurrent_state_version_days >= 1 && floor(var.noncurrent_state_version_days) == var.noncurrent_state_version_days
    error_message = "noncurrent_state_version_days must be a whole number of days, at least 1."
  }
}

variable "github_oidc_provider_arn" {
  type        = string
  description = "ARN of an existing token.actions.githubusercontent.com identity provider to reuse (an account has at most one per URL); null creates it."
  default     = null

  validation {
    condition     = var.github_oidc_provider_arn == null || can(regex("^arn:aws[a-z-]*:iam::[0-9]{12}:oidc-provider/token\\.actions\\.githubusercontent\\.com$", var.github_oidc_provider_arn))
    error_message = "github_oidc_provider_arn must be the ARN of a token.actions.githubusercontent.com OIDC provider."
  }
}

variable "tags" {
  type        = map(string)
  description = "Extra tags for every resource (Project and ManagedBy are always set)."
  default     = {}
}

variable "preview_stacks_enabled" {
  type        = bool
  description = "Create the preview role (<name>-github-preview): pull requests labelled `preview` apply and destroy their own stack, environment pr-<number> (.github/workflows/preview.yml)."
  default     = false
}
