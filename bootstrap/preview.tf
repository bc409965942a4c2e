# Preview stacks (preview_stacks_enabled): a pull request labelled `preview` applies its own stack,
# environment "pr-<number>" (so named "<name>-pr-<number>-..."), runs the smoke suite on it and
# destroys it when the pull request closes (.github/workflows/preview.yml). Its role is the deploy
# roles' sibling: the same policy, written for the scope "pr-*" instead of one environment, and
# its own boundary. It can reach no dev or prod resource, state or role.

locals {
  preview_scope = "pr-*"

  # What iam.tf writes a deploy policy and a function boundary for: each environment, and the
  # preview stacks when enabled.
  deploy_scopes = merge(
    local.stack_prefixes,
    var.preview_stacks_enabled ? { (local.preview_scope) = "${var.name}-${local.preview_scope}" } : {},
  )
  deploy_state_keys = merge(
    local.state_keys,
    { (local.preview_scope) = "${var.name}/${local.preview_scope}/terraform.tfstate" },
  )
  deploy_boundary_arns = merge(
    local.boundary_policy_arn,
    { (local.preview_scope) = "arn:${local.partition}:iam::${local.account_id}:policy/${var.name}-github-preview-function-boundary" },
  )
}

# Only a job that declares `environment: preview` gets this subject: the apply and destroy of a
# pull request's stack, and the scheduled sweep of stacks left behind.
data "aws_iam_policy_document" "preview_trust" {
  count = var.preview_stacks_enabled ? 1 : 0

  statement {
    sid     = "GitHubEnvironmentPreview"
    actions = ["sts:AssumeRoleWithWebIdentity"]

    principals {
      type        = "Federated"
      identifiers = [local.github_oidc_provider_arn]
    }

    condition {
      test     = "StringEquals"
      variable = "${local.github_oidc_host}:aud"
      values   = ["sts.amazonaws.com"]
    }

    condition {
      test     = "StringEquals"
      variable = "${local.github_oidc_host}:sub"
      values   = ["repo:${var.github_repository}:environment:preview"]
    }
  }
}

resource "aws_iam_role" "preview" {
  count = var.preview_stacks_enabled ? 1 : 0

  name                 = "${var.name}-github-preview"
  description          = "GitHub Actions (${var.github_repository}, environment preview) applies and destroys ${var.name}-pr-* stacks"
  assume_role_policy   = data.aws_iam_policy_document.preview_trust[0].json
  max_session_duration = 3600
}

resource "aws_iam_role_policy" "preview" {
  count = var.preview_stacks_enabled ? 1 : 0

  name   = "preview-${var.name}-pr"
  role   = aws_iam_role.preview[0].id
  policy = data.aws_iam_policy_document.deploy[local.preview_scope].json
}

resource "aws_iam_policy" "preview_boundary" {
  count = var.preview_stacks_enabled ? 1 : 0

  name        = "${var.name}-github-preview-function-boundary"
  description = "Permissions boundary of the roles the ${var.name}-pr-* preview stacks create"
  policy      = data.aws_iam_policy_document.function_boundary[local.preview_scope].json
}
