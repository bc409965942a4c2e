terraform {
  # 1.11: the S3 backend's use_lockfile (environments/*.s3.tfbackend) is generally available from
  # 1.11 (experimental in 1.10). Also used: plantimestamp() (1.5, the runtime dates in
  # variables.tf), validations that read a file (1.9).
  required_version = ">= 1.11"

  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = "~> 5.100"
    }
    archive = {
      source  = "hashicorp/archive"
      version = "~> 2.7"
    }
    external = {
      source  = "hashicorp/external"
      version = "~> 2.3"
    }
  }
}
