#!/usr/bin/env bash
# Run by .github/workflows/deploy.yml and preview.yml after `terraform apply`, in the root module.
#
# all_at_once (no CodeDeploy application in the outputs): Terraform already moved `live`; nothing
# to do. canary/linear: hand the shift from the version `live` serves to the version this apply
# published to CodeDeploy (an AppSpec sent inline) and wait until it has finished. CodeDeploy
# shifts back by itself when one of the stack's rollback alarms goes off; then this fails.
set -euo pipefail

app=$(terraform output -json codedeploy_app_name | jq -r '. // empty')
function_name=$(terraform output -raw function_name)
if [[ -z "${app}" ]]; then
  echo "deployment_strategy all_at_once: live serves version $(terraform output -raw function_live_version)"
  exit 0
fi
group=$(terraform output -raw codedeploy_deployment_group_name)
target=$(terraform output -raw function_latest_version)
current=$(aws lambda get-alias --function-name "${function_name}" --name live \
  --query FunctionVersion --output text)
if [[ "${current}" == "${target}" ]]; then
  echo "live already serves version ${target}: nothing to shift"
  exit 0
fi

appspec=$(printf '{"version":0.0,"Resources":[{"live":{"Type":"AWS::Lambda::Function","Properties":{"Name":"%s","Alias":"live","CurrentVersion":"%s","TargetVersion":"%s"}}}]}' \
  "${function_name}" "${current}" "${target}")
revision=$(jq -cn --arg content "${appspec}" '{revisionType: "AppSpecContent", appSpecContent: {content: $content}}')
deployment=$(aws deploy create-deployment --application-name "${app}" \
  --deployment-group-name "${group}" --revision "${revision}" \
  --description "live: version ${current} -> ${target}" --query deploymentId --output text)
echo "CodeDeploy ${deployment}: shifting live from version ${current} to ${target}"
if [[ -n "${GITHUB_STEP_SUMMARY:-}" ]]; then
  echo "CodeDeploy deployment \`${deployment}\` (${app}/${group}): live ${current} -> ${target}" >> "${GITHUB_STEP_SUMMARY}"
fi
# Until CodeDeploy finishes: the job's timeout-minutes bounds the wait (a linear shift of many
# steps needs a longer one). Failed or Stopped: CodeDeploy has shifted live back already.
while :; do
  status=$(aws deploy get-deployment --deployment-id "${deployment}" \
    --query deploymentInfo.status --output text)
  case "${status}" in
    Succeeded) break ;;
    Failed | Stopped)
      aws deploy get-deployment --deployment-id "${deployment}" \
        --query 'deploymentInfo.[errorInformation.code, errorInformation.message]' --output text
      echo "::error::CodeDeploy ${deployment} ${status}: live went back to version ${current}"
      exit 1
      ;;
    *) sleep "${SHIFT_POLL_SECONDS:-15}" ;;
  esac
done
echo "live serves version ${target}"
