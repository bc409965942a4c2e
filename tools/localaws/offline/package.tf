# Offline stand-in for package.tf and versions.tf: the external and archive providers cannot be
# fetched here, so tools/localaws/stage.py runs the same program with the same query (tools.build.QUERY),
# writes its result to build/external-result.json and zips the tree as archive_file does; this
# file only reads them. Its terraform block is versions.tf's without those two providers.

terraform {
  required_version = ">= 1.11"

  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = "~> 5.100"
    }
  }
}

locals {
  lambda_package_manifest = jsondecode(file("${path.module}/build/external-result.json"))
  lambda_package_path     = "${path.module}/build/lambda-${substr(local.lambda_package_manifest.sha256, 0, 16)}.zip"
  lambda_package_hash     = filebase64sha256(local.lambda_package_path)
}
