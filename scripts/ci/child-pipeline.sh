#!/usr/bin/env bash
# The synth job's last step: `npm run ci:pipeline` writes the child pipeline (ci/child-pipeline.yml). In a
# merge-request pipeline it plans only the stacks whose synthesized JSON differs from the target branch, and the
# stacks reading their outputs (--changed-since origin/<target>, synthesized from a temporary worktree); the
# branch is fetched first, as a shallow clone has no other. Should that fail, ci:pipeline cannot synthesize the
# ref and plans every stack, saying why. Branch and scheduled pipelines: every stack.
set -euo pipefail
target="${CI_MERGE_REQUEST_TARGET_BRANCH_NAME:-}"
if [ -n "$target" ] && [ "${CI_PIPELINE_SOURCE:-}" != schedule ]; then
  git fetch --no-tags --depth=1 origin "+refs/heads/$target:refs/remotes/origin/$target" ||
    echo "NOTE: cannot fetch $target from origin: every stack is planned"
  npm run ci:pipeline -- --changed-since "origin/$target"
else
  npm run ci:pipeline
fi
