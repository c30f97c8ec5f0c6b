#!/usr/bin/env bash
# deploy:<env> (child pipeline, manual, protected branches): applies the reviewed plans of plan:<stack>, in
# the environment's deploy order. Fails (never a warning) on a local backend, a missing or stale plan.
# Once a stack's outputs change, the saved plans of the stacks after it were made against the old values: the
# job stops there so a new pipeline plans and reviews them, unless DEPLOY_REPLAN_CONSUMERS=true (then those
# stacks are planned and applied here). Administrator stacks (ADMIN_STACKS, delivery-<env>) are never applied.
# A reviewed plan that changes nothing (plan:<stack> wrote `changes: false`, terraform plan -detailed-exitcode 0)
# is not applied either (UNCHANGED <stack>); the job goes on with the next stack.
# Before any credential is requested, the deploy gate (scripts/ci/deploy-gate.js) refuses a ref that is not
# protected, a merge-request pipeline and, with delivery:, an older GitLab than delivery.gitlab.minimumVersion,
# another project (id or path) and a branch not among deployBranches.
set -euo pipefail
environment="${1:?usage: deploy-environment.sh <env> <stack>...}"
shift
[ "$#" -gt 0 ] || { echo "ERROR: no stack to deploy for $environment" >&2; exit 1; }
CI_JOB_KIND=deploy
source scripts/ci/common.sh
ci_prepare "$@"
for stack in ${ADMIN_STACKS:-}; do echo "SKIPPED $stack: the pipeline's own identities, applied by an administrator (README)"; done
stale=""
applied=""
unchanged=""
for stack in "$@"; do
  dir="$OUTDIR/stacks/$stack"
  # Only a marker that says so skips a plan: none (a plan made before markers existed) means apply it.
  if [ -z "$stale" ] && [ -f "$dir/tfplan" ] && [ "$(cat "$OUTDIR/plans/$stack.changes" 2>/dev/null)" = "changes: false" ]; then
    echo "UNCHANGED $stack: its reviewed plan changes nothing; not applied"
    unchanged="$unchanged $stack"
    continue
  fi
  terraform -chdir="$dir" init -input=false -no-color
  if [ -z "$stale" ] && [ -f "$dir/tfplan" ]; then
    # Exactly the reviewed plan; terraform refuses it (exit 1) when the state moved since it was made.
    terraform -chdir="$dir" apply -input=false -no-color -lock-timeout=5m tfplan
  elif [ "${DEPLOY_REPLAN_CONSUMERS:-false}" = true ]; then
    echo "$stack: planned and applied now (its reviewed plan is missing or predates the changes of$stale)"
    terraform -chdir="$dir" apply -input=false -no-color -lock-timeout=5m -auto-approve
  else
    echo "ERROR: STOPPED before $stack: no reviewed plan that is still valid${stale:+ after$stale changed}; run the pipeline again to plan and review it (or run this job with DEPLOY_REPLAN_CONSUMERS=true)" >&2
    exit 1
  fi
  applied="$applied $stack"
  [ ! -f "$OUTDIR/plans/$stack.outputs-changed" ] || stale="$stale $stack"
done
echo "deployed $environment: applied${applied:- nothing}${unchanged:+; unchanged:$unchanged}"
