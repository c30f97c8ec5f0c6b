#!/usr/bin/env bash
# The identity review (npm run review) of the review jobs: in a merge request pipeline with the access
# changes against the target branch (--base-ref, synthesized from a temporary worktree), otherwise of the
# commit alone. In the child pipeline PARENT_MR_TARGET_BRANCH carries the parent's target branch.
# Either way it writes gl-code-quality-review.json: the access changes to review as a GitLab code-quality
# report, each at the line of config/<env>.yaml that caused it (empty without a base revision); a child
# pipeline's review:<env> (ENVIRONMENT set) reports its own environment only.
set -euo pipefail
target="${CI_MERGE_REQUEST_TARGET_BRANCH_NAME:-${PARENT_MR_TARGET_BRANCH:-}}"
report=(--codequality gl-code-quality-review.json)
if [ -n "${ENVIRONMENT:-}" ]; then report+=(--codequality-environment "$ENVIRONMENT"); fi
if [ -n "$target" ]; then
  git fetch --no-tags --depth=1 origin "+refs/heads/$target:refs/remotes/origin/$target"
  npm run review -- --base-ref "origin/$target" "${report[@]}"
else
  npm run review -- "${report[@]}"
fi
