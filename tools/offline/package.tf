# Offline stand-in for package.tf: the archive provider cannot be fetched here, so
# tools/stage.py builds the same deterministic zip in Python and this file only reads it.

terraform {
  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = "~> 5.100"
    }
  }
}

locals {
  lambda_package_path     = "${path.module}/build/lambda.zip"
  lambda_package_hash     = filebase64sha256("${path.module}/build/lambda.zip")
  lambda_package_manifest = try(jsondecode(file("${path.module}/build/package.json")), {})
}
