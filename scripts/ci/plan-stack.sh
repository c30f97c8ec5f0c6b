#!/usr/bin/env bash
# plan:<stack> (child pipeline): plan one stack against its real state with the environment's plan identity.
# Writes cdktf.out/stacks/<stack>/tfplan (applied as is by deploy:<env>), cdktf.out/plans/<stack>.json
# (terraform show -json, read by npm run review), <stack>.tfreport.json (GitLab's Terraform report) and
# <stack>.changes: `changes: true`, or `changes: false` for a plan that changes nothing (-detailed-exitcode 0),
# which deploy:<env> then does not apply.
# A failed plan fails the job, except for a stack whose producers (PRODUCERS) change their outputs in this
# deploy or were not planned themselves (first deploy: their state does not exist yet): it is marked
# NOT PLANNED, and deploy:<env> stops before it unless run with DEPLOY_REPLAN_CONSUMERS=true.
# -lock=false: the plan identity writes nothing, state locks included (a deploy in progress holds the lock; a
# plan made meanwhile is refused by `terraform apply` as stale, since the state changed).
set -euo pipefail
stack="${1:?usage: plan-stack.sh <stack>}"
CI_JOB_KIND=plan
source scripts/ci/common.sh
ci_prepare "$stack"
dir="$OUTDIR/stacks/$stack"
plans="$OUTDIR/plans"
mkdir -p "$plans"
rm -f "$dir/tfplan" "$plans/$stack".*
upstream=""
for producer in ${PRODUCERS:-}; do
  if [ -f "$plans/$producer.outputs-changed" ] || [ -f "$plans/$producer.not-planned" ]; then upstream="$upstream $producer"; fi
done
terraform -chdir="$dir" init -input=false -no-color
status=0
terraform -chdir="$dir" plan -input=false -no-color -lock=false -detailed-exitcode -out=tfplan || status=$?
case "$status" in
  0 | 2) ;;
  *)
    if [ -n "$upstream" ]; then
      echo "NOT PLANNED $stack: it reads outputs of$upstream, which this deploy creates or changes; deploy:${ENVIRONMENT} stops before it (run the pipeline again after the deploy, or deploy with DEPLOY_REPLAN_CONSUMERS=true)" | tee "$plans/$stack.not-planned"
      rm -f "$dir/tfplan"
      exit 0
    fi
    echo "ERROR: terraform plan of $stack failed (exit $status)" >&2
    exit 1 ;;
esac
terraform -chdir="$dir" show -json tfplan >"$plans/$stack.json"
if [ "$status" = 0 ]; then
  echo "NO CHANGES $stack: the plan changes nothing; deploy:${ENVIRONMENT:-<env>} will not apply it"
  echo "changes: false" >"$plans/$stack.changes"
else
  echo "changes: true" >"$plans/$stack.changes"
fi
report=0
node scripts/ci/terraform-report.js "$plans/$stack.json" "$plans/$stack.tfreport.json" || report=$?
case "$report" in
  0) ;;
  10) echo "$stack: this plan changes outputs; the plans of the stacks reading them are provisional" | tee "$plans/$stack.outputs-changed" ;;
  *) exit 1 ;;
esac
