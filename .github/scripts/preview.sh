#!/usr/bin/env bash
# A pull request's preview stack, run by .github/workflows/preview.yml from the repository root:
#
#   preview.sh apply <number>     init (its own state key), apply environments/dev.tfvars as
#                                 environment pr-<number>: the stack users-api-pr-<number>
#   preview.sh destroy <number>   destroy it (a no-op when its state is empty)
#   preview.sh sweep              destroy every preview stack whose pull request is not open
#
# Needs STACK_NAME, TF_STATE_BUCKET, AWS_REGION, AWS_ACCOUNT_ID (and GH_TOKEN for sweep), and the
# credentials of bootstrap/'s preview role, which reaches only <name>-pr-* stacks and states.
set -euo pipefail

init() {
  local environment="pr-$1"
  rm -rf .terraform
  printf 'terraform {\n  backend "s3" {}\n}\n' > backend_override.tf
  terraform init -input=false -reconfigure \
    -backend-config=environments/dev.s3.tfbackend \
    -backend-config="key=${STACK_NAME}/${environment}/terraform.tfstate" \
    -backend-config="bucket=${TF_STATE_BUCKET}" \
    -backend-config="region=${AWS_REGION}"
}

terraform_run() {
  local command="$1" number="$2"
  terraform "${command}" -input=false -auto-approve -no-color \
    -var-file=environments/dev.tfvars \
    -var="environment=pr-${number}" \
    -var="lambda_permissions_boundary_arn=arn:aws:iam::${AWS_ACCOUNT_ID}:policy/${STACK_NAME}-github-preview-function-boundary"
}

destroy() {
  init "$1"
  if [[ -z "$(terraform state list)" ]]; then
    echo "pr-$1: nothing deployed"
    return 0
  fi
  terraform_run destroy "$1"
  echo "pr-$1: destroyed"
}

sweep() {
  local key number state
  for key in $(aws s3api list-objects-v2 --bucket "${TF_STATE_BUCKET}" --prefix "${STACK_NAME}/pr-" \
    --query 'Contents[].Key' --output text); do
    [[ "${key}" =~ ^${STACK_NAME}/pr-([0-9]+)/terraform\.tfstate$ ]] || continue
    number="${BASH_REMATCH[1]}"
    state=$(gh pr view "${number}" --repo "${GITHUB_REPOSITORY}" --json state --jq .state)
    if [[ "${state}" == "OPEN" ]]; then
      echo "pr-${number}: pull request open, kept"
      continue
    fi
    echo "pr-${number}: pull request ${state,,}, destroying what is left"
    destroy "${number}"
  done
}

usage() {
  echo "usage: $0 apply|destroy <pull request number> | sweep" >&2
  exit 2
}

case "${1:-}" in
  apply | destroy) [[ "${2:-}" =~ ^[1-9][0-9]*$ ]] || usage ;;
  sweep) ;;
  *) usage ;;
esac
case "$1" in
  apply) init "$2" && terraform_run apply "$2" ;;
  destroy) destroy "$2" ;;
  sweep) sweep ;;
esac
