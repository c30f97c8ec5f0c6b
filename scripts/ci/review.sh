#!/usr/bin/env bash
# The identity review (npm run review) of the review jobs: in a merge request pipeline with the access
# changes against the target branch (--base-ref, synthesized from a temporary worktree), otherwise of the
# commit alone. In the child pipeline PARENT_MR_TARGET_BRANCH carries the parent's target branch.
set -euo pipefail
target="${CI_MERGE_REQUEST_TARGET_BRANCH_NAME:-${PARENT_MR_TARGET_BRANCH:-}}"
if [ -n "$target" ]; then
  git fetch --no-tags --depth=1 origin "+refs/heads/$target:refs/remotes/origin/$target"
  npm run review -- --base-ref "origin/$target"
else
  npm run review
fi
