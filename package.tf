# The packaging seam: zips build/package (made by `make build`) and reads its manifest.
# Offline tooling swaps only this file, for tools/offline/package.tf.

terraform {
  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = "~> 5.100"
    }
    archive = {
      source  = "hashicorp/archive"
      version = "~> 2.7"
    }
  }
}

data "archive_file" "lambda_package" {
  type             = "zip"
  source_dir       = "${path.module}/build/package"
  output_path      = "${path.module}/build/lambda.zip"
  output_file_mode = "0644"
}

locals {
  lambda_package_path     = data.archive_file.lambda_package.output_path
  lambda_package_hash     = data.archive_file.lambda_package.output_base64sha256
  lambda_package_manifest = try(jsondecode(file("${path.module}/build/package.json")), {})
}
