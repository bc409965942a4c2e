output "state_bucket_name" {
  description = "Name of the S3 bucket holding every environment's state (the repository secret TF_STATE_BUCKET)."
  value       = aws_s3_bucket.state.bucket
}

output "state_bucket_region" {
  description = "Region of the state bucket (the repository secret AWS_REGION)."
  value       = local.region
}

output "github_oidc_provider_arn" {
  description = "ARN of the GitHub Actions OIDC identity provider the roles trust (created here or reused)."
  value       = local.github_oidc_provider_arn
}

output "deploy_role_arns" {
  description = "Deploy role ARN per environment: the secret AWS_DEPLOY_ROLE_ARN of the GitHub environment of the same name."
  value       = { for env, role in aws_iam_role.deploy : env => role.arn }
}

output "plan_role_arn" {
  description = "Read-only role for pull-request plans (the repository secret AWS_PLAN_ROLE_ARN)."
  value       = aws_iam_role.plan.arn
}

output "function_permissions_boundary_arns" {
  description = "Permissions boundary per environment that the function's role must carry (the main stack's lambda_permissions_boundary_arn, which the pipeline passes)."
  value       = { for env, policy in aws_iam_policy.function_boundary : env => policy.arn }
}

output "backend_config" {
  description = "The main stack's S3 backend settings per environment: environments/<env>.s3.tfbackend holds key, use_lockfile and encrypt; bucket and region are passed with -backend-config."
  value = {
    for env, key in local.state_keys : env => {
      bucket       = aws_s3_bucket.state.bucket
      key          = key
      region       = local.region
      use_lockfile = true
      encrypt      = true
    }
  }
}

output "github_secrets" {
  description = "What .github/workflows/deploy.yml reads: `repository` as repository secrets (gh secret set NAME --body VALUE), `environments` as secrets of each GitHub environment (gh secret set NAME --env ENV --body VALUE)."
  value = {
    repository = {
      AWS_REGION        = local.region
      TF_STATE_BUCKET   = aws_s3_bucket.state.bucket
      AWS_PLAN_ROLE_ARN = aws_iam_role.plan.arn
    }
    environments = { for env, role in aws_iam_role.deploy : env => { AWS_DEPLOY_ROLE_ARN = role.arn } }
  }
}

output "preview_role_arn" {
  description = "Role of .github/workflows/preview.yml (preview_stacks_enabled): the secret AWS_PREVIEW_ROLE_ARN of the GitHub environment `preview`; null when disabled."
  value       = one(aws_iam_role.preview[*].arn)
}
