# Shared steps of the CI jobs that run terraform (sourced by plan-stack.sh, drift-stack.sh,
# deploy-environment.sh). Order matters: refuse a local backend, then (deploy jobs, CI_JOB_KIND=deploy) the
# deploy gate, then the credential step, then tools; a job without its environment's CI/CD variables fails at
# the credential step, with a message saying what to set, and a refused deploy never requests a credential.
OUTDIR="${CDKTF_OUTDIR:-cdktf.out}"

ci_fail() {
  printf 'ERROR: %s\n' "$*" >&2
  exit 1
}

# ci_prepare <stack>...: everything before the first terraform command.
ci_prepare() {
  needs="$(node scripts/ci/stack-needs.js "$OUTDIR" "$@")" || ci_fail "cannot read the synthesized stacks $*"
  for need in $needs; do
    case "$need" in
      local-backend:*)
        ci_fail "${need#local-backend:} uses the local state backend, which a CI job loses with its workspace: set backend s3 or gcs in config/${ENVIRONMENT}.yaml (README: \"Moving an environment to a remote backend\")" ;;
    esac
  done
  # Settings the deploy job can tell are wrong (scripts/ci/deploy-gate.js): one line each, before any credential.
  if [ "${CI_JOB_KIND:-}" = deploy ]; then
    node scripts/ci/deploy-gate.js || exit 1
  fi
  ci_credentials $needs
  ci_tools $needs
  export PATH="${CI_TERRAFORM_BIN:-$PWD/.ci-bin}:$PATH"
  command -v terraform >/dev/null || ci_fail "no terraform: the terraform job's artifact (.ci-bin/terraform) did not arrive"
  terraform version
}

# The credential step: short-lived credentials from the job's OIDC id_tokens, never a stored key.
ci_credentials() {
  role_variable="AWS_${CREDENTIALS_FOR:-plan}_ROLE_ARN"
  role_variable="$(printf '%s' "$role_variable" | tr '[:lower:]' '[:upper:]')"
  account_variable="GCP_$(printf '%s' "${CREDENTIALS_FOR:-plan}" | tr '[:lower:]' '[:upper:]')_SERVICE_ACCOUNT"
  secrets="$(mktemp -d)"
  # The job's ID tokens last as long as its script: a shell runner's /tmp outlives the job, and the next job's user.
  trap 'rm -rf "$secrets"' EXIT
  for need in "$@"; do
    case "$need" in
      aws)
        if [ -n "${DELIVERY_GITLAB_HOST:-}" ]; then
          # delivery: the environment's Cognito identity pool (enhanced flow) turns the id_token into the plan or
          # deploy role's temporary credentials. The step gets them once (a refusal fails here, its message naming
          # the CI/CD variable to set), then writes an AWS config whose profile runs the same script as its
          # credential_process: terraform, its S3 backend and `aws eks get-token` renew them when they expire.
          node scripts/ci/aws-credentials.js --config "$secrets/aws-config" || exit 1
          unset AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY AWS_SESSION_TOKEN AWS_DEFAULT_PROFILE AWS_SHARED_CREDENTIALS_FILE \
            AWS_ROLE_ARN AWS_WEB_IDENTITY_TOKEN_FILE AWS_ROLE_SESSION_NAME
          export AWS_CONFIG_FILE="$secrets/aws-config" AWS_PROFILE=cluster-identity-pipeline
        else
          # An environment without delivery: (its pipeline roles are not made by this app): the role from
          # AWS_ROLE_ARN, assumed by web identity with the job's id_token.
          case "${AWS_ROLE_ARN:-}" in
            arn:aws:iam::*:role/* | arn:aws-*:iam::*:role/*) ;;
            *) ci_fail "credential step: $role_variable is not set (or not a role ARN) for environment ${ENVIRONMENT}: add it as a CI/CD variable with environment scope ${ENVIRONMENT} (see README \"The pipeline's identities\")" ;;
          esac
          [ -n "${AWS_ID_TOKEN:-}" ] || ci_fail "credential step: the job has no AWS_ID_TOKEN: GitLab issues it from the job's id_tokens (aud sts.amazonaws.com); this runner did not"
          printf '%s' "$AWS_ID_TOKEN" >"$secrets/aws-token"
          export AWS_ROLE_ARN AWS_WEB_IDENTITY_TOKEN_FILE="$secrets/aws-token" AWS_ROLE_SESSION_NAME="gitlab-${CI_PROJECT_ID:-local}-${CI_JOB_ID:-0}"
          unset AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY AWS_SESSION_TOKEN AWS_PROFILE
          echo "credential step: AWS role $AWS_ROLE_ARN by web identity"
        fi ;;
      google)
        printf '%s' "${GCP_WORKLOAD_IDENTITY_PROVIDER:-}" | grep -Eq '^projects/[0-9]+/locations/global/workloadIdentityPools/[a-z0-9-]+/providers/[a-z0-9-]+$' ||
          ci_fail "credential step: GCP_WORKLOAD_IDENTITY_PROVIDER = \"${GCP_WORKLOAD_IDENTITY_PROVIDER:-}\" for environment ${ENVIRONMENT}: set it to projects/<number>/locations/global/workloadIdentityPools/<pool>/providers/<provider> (an output of delivery-${ENVIRONMENT}, see README)"
        case "${GCP_SERVICE_ACCOUNT:-}" in
          *@*.iam.gserviceaccount.com) ;;
          *) ci_fail "credential step: $account_variable is not set (or not a service account e-mail) for environment ${ENVIRONMENT}: add it as a CI/CD variable with environment scope ${ENVIRONMENT} (an output of delivery-${ENVIRONMENT}, see README)" ;;
        esac
        [ -n "${GCP_ID_TOKEN:-}" ] || ci_fail "credential step: the job has no GCP_ID_TOKEN: GitLab issues it from the job's id_tokens; this runner did not"
        printf '%s' "$GCP_ID_TOKEN" >"$secrets/gcp-token"
        node -e 'const [audience, account, token] = process.argv.slice(1); process.stdout.write(JSON.stringify({
          type: "external_account", audience: `//iam.googleapis.com/${audience}`,
          subject_token_type: "urn:ietf:params:oauth:token-type:jwt", token_url: "https://sts.googleapis.com/v1/token",
          service_account_impersonation_url: `https://iamcredentials.googleapis.com/v1/projects/-/serviceAccounts/${account}:generateAccessToken`,
          credential_source: { file: token } }))' "$GCP_WORKLOAD_IDENTITY_PROVIDER" "$GCP_SERVICE_ACCOUNT" "$secrets/gcp-token" >"$secrets/gcp-credentials.json"
        export GOOGLE_APPLICATION_CREDENTIALS="$secrets/gcp-credentials.json"
        echo "credential step: Google service account $GCP_SERVICE_ACCOUNT through $GCP_WORKLOAD_IDENTITY_PROVIDER" ;;
      kubeconfig)
        [ -n "${KUBECONFIG_FILE:-}" ] && [ -f "$KUBECONFIG_FILE" ] ||
          ci_fail "credential step: the kubernetes provider of a self-managed cluster reads ~/.kube/config: add a File CI/CD variable KUBECONFIG_FILE with environment scope ${ENVIRONMENT}"
        mkdir -p "$HOME/.kube" && cp "$KUBECONFIG_FILE" "$HOME/.kube/config" ;;
    esac
  done
}

# Tools installed at run time, pinned.
ci_tools() {
  for need in "$@"; do
    if [ "$need" = awscli ] && ! command -v aws >/dev/null; then
      apt-get update -qq && apt-get install -y -qq --no-install-recommends "awscli=${AWSCLI_DEBIAN_VERSION:?}" ca-certificates >/dev/null ||
        ci_fail "cannot install awscli ${AWSCLI_DEBIAN_VERSION} (Debian bookworm): needed by aws eks get-token"
      aws --version
    fi
  done
}
