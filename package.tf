# The packaging seam: `terraform plan` builds the package (tools/build.py, run by the external
# data source) and zips it. Offline tooling (tools/localaws/stage.py) puts tools/localaws/offline/package.tf in
# place of this file and versions.tf, whose archive and external providers cannot be fetched there.

# Runs at every plan (and refresh): pip installs the wheels for the function's runtime and
# architecture (never this machine's) once, then a rebuild reuses them. The tree lands in
# build/packages/<sha256 prefix>/, so archive_file below reads exactly what this build returned.
data "external" "lambda_package" {
  program = ["python3", "${path.module}/tools/build.py", "--external"]

  query = {
    runtime      = var.lambda_runtime
    architecture = var.lambda_architecture
    bytecode     = tostring(var.lambda_bytecode)
  }
}

# A zip named by its content: the function's filename and source_code_hash change only when the
# package does, whichever directory or machine plans it.
data "archive_file" "lambda_package" {
  type             = "zip"
  source_dir       = data.external.lambda_package.result.package_dir
  output_path      = "${path.module}/build/lambda-${substr(data.external.lambda_package.result.sha256, 0, 16)}.zip"
  output_file_mode = "0644"
}

locals {
  lambda_package_path     = data.archive_file.lambda_package.output_path
  lambda_package_hash     = data.archive_file.lambda_package.output_base64sha256
  lambda_package_manifest = data.external.lambda_package.result
}
