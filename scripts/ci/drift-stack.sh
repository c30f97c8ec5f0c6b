#!/usr/bin/env bash
# drift:<stack> (scheduled pipelines): does the real infrastructure still match main? `terraform plan
# -detailed-exitcode`: 0 = no drift; 2 = drift (the job fails, naming the stack); anything else = error.
# -lock=false: the plan identity writes nothing, state locks included.
set -euo pipefail
stack="${1:?usage: drift-stack.sh <stack>}"
CI_JOB_KIND=drift
source scripts/ci/common.sh
ci_prepare "$stack"
dir="$OUTDIR/stacks/$stack"
terraform -chdir="$dir" init -input=false -no-color
status=0
terraform -chdir="$dir" plan -input=false -no-color -lock=false -refresh=true -detailed-exitcode || status=$?
case "$status" in
  0) echo "NO DRIFT $stack: the infrastructure matches main" ;;
  2) echo "DRIFT $stack: the infrastructure differs from main (plan above); deploy main, or change main to what is there" >&2; exit 1 ;;
  *) echo "ERROR: terraform plan of $stack failed (exit $status)" >&2; exit 1 ;;
esac
