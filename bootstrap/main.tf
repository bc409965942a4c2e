# One-off, per AWS account: the remote state of the main stack and the roles its pipeline assumes.
# This root keeps its own (small) state locally; see docs for moving it into the bucket afterwards.

terraform {
  # use_lockfile (S3-native state locking), which its outputs hand the main stack's backends, is
  # GA from Terraform 1.11 (experimental in 1.10).
  required_version = ">= 1.11"

  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = "~> 5.100"
    }
  }
}

provider "aws" {
  region = var.aws_region

  default_tags {
    tags = merge(var.tags, {
      Project   = var.name
      ManagedBy = "terraform"
    })
  }
}

data "aws_caller_identity" "current" {}

data "aws_partition" "current" {}

data "aws_region" "current" {}

locals {
  account_id = data.aws_caller_identity.current.account_id
  partition  = data.aws_partition.current.partition
  region     = data.aws_region.current.name

  state_bucket_name = coalesce(var.state_bucket_name, "${var.name}-tfstate-${local.account_id}")
  # One state object per environment; the S3-native lock is "<key>.tflock" next to it.
  state_keys = { for env in var.environments : env => "${var.name}/${env}/terraform.tfstate" }
}

# --- State bucket -----------------------------------------------------------------------------

# No force_destroy: destroying this root fails while any state version is left in the bucket.
resource "aws_s3_bucket" "state" {
  #checkov:skip=CKV_AWS_18:Access logs of a state bucket would need a second bucket per account; CloudTrail already records who read or wrote state.
  #checkov:skip=CKV2_AWS_62:Nothing consumes events of state writes; versioning keeps every write.
  #checkov:skip=CKV_AWS_144:Cross-region replication doubles storage and needs a second region's bucket; versioning covers bad writes, and the state can be rebuilt by import.
  #checkov:skip=CKV_AWS_145:SSE-S3 on purpose: the AWS managed aws/s3 key restricts nothing more (see the encryption resource below); a CMK is the documented step up.
  bucket = local.state_bucket_name
}

# Every state write is a new version: a bad apply or a corrupted write can be rolled back.
resource "aws_s3_bucket_versioning" "state" {
  bucket = aws_s3_bucket.state.id

  versioning_configuration {
    status = "Enabled"
  }
}

# SSE-S3 (AES256), not aws:kms with the AWS managed key: the aws/s3 key's policy lets any principal
# of the account decrypt through S3, so it restricts nothing more than SSE-S3 while adding a KMS
# request (and charge) to every state read and write. Who reads state is decided by IAM and the
# bucket policy below; a customer managed KMS key is the step up when decryption itself must be
# restricted to the deploy roles.
resource "aws_s3_bucket_server_side_encryption_configuration" "state" {
  bucket = aws_s3_bucket.state.id

  rule {
    apply_server_side_encryption_by_default {
      sse_algorithm = "AES256"
    }
  }
}

resource "aws_s3_bucket_public_access_block" "state" {
  bucket = aws_s3_bucket.state.id

  block_public_acls       = true
  block_public_policy     = true
  ignore_public_acls      = true
  restrict_public_buckets = true
}

# ACLs disabled: the bucket owner owns every object, access is IAM and bucket policy only.
resource "aws_s3_bucket_ownership_controls" "state" {
  bucket = aws_s3_bucket.state.id

  rule {
    object_ownership = "BucketOwnerEnforced"
  }
}

resource "aws_s3_bucket_lifecycle_configuration" "state" {
  bucket = aws_s3_bucket.state.id

  rule {
    id     = "expire-superseded-state"
    status = "Enabled"

    filter {}

    noncurrent_version_expiration {
      noncurrent_days = var.noncurrent_state_version_days
    }

    abort_incomplete_multipart_upload {
      days_after_initiation = 1
    }
  }

  # Lifecycle rules apply to versions only once versioning is on.
  depends_on = [aws_s3_bucket_versioning.state]
}

data "aws_iam_policy_document" "state_bucket" {
  statement {
    sid       = "DenyInsecureTransport"
    effect    = "Deny"
    actions   = ["s3:*"]
    resources = [aws_s3_bucket.state.arn, "${aws_s3_bucket.state.arn}/*"]

    principals {
      type        = "*"
      identifiers = ["*"]
    }

    condition {
      test     = "Bool"
      variable = "aws:SecureTransport"
      values   = ["false"]
    }
  }
}

resource "aws_s3_bucket_policy" "state" {
  bucket = aws_s3_bucket.state.id
  policy = data.aws_iam_policy_document.state_bucket.json

  # S3 rejects a policy while the public access block is being written.
  depends_on = [aws_s3_bucket_public_access_block.state]
}
