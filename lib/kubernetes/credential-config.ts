/**
 * Google's `external_account` credential configuration (what `gcloud iam workload-identity-pools
 * create-cred-config` writes): how a pod exchanges its Kubernetes token for Google credentials. It holds no
 * secret, only where to find the token and whom to impersonate.
 */
export const GOOGLE_STS_TOKEN_URL = "https://sts.googleapis.com/v1/token";
export const GOOGLE_IAM_CREDENTIALS_URL = "https://iamcredentials.googleapis.com/v1";
export const JWT_TOKEN_TYPE = "urn:ietf:params:oauth:token-type:jwt";

export interface ExternalAccountInput {
  /** `//iam.googleapis.com/projects/<number>/locations/global/workloadIdentityPools/<pool>/providers/<id>` */
  readonly audience: string;
  /** The Google service account the workload acts as (may be a cross-stack reference). */
  readonly serviceAccountEmail: string;
  /** File the projected token is read from. */
  readonly tokenPath: string;
}

export interface ExternalAccountCredentials {
  readonly type: "external_account";
  readonly audience: string;
  readonly subject_token_type: string;
  readonly token_url: string;
  readonly service_account_impersonation_url: string;
  readonly credential_source: { readonly file: string; readonly format: { readonly type: "text" } };
}

export function externalAccountCredentials(input: ExternalAccountInput): ExternalAccountCredentials {
  return {
    type: "external_account",
    audience: input.audience,
    subject_token_type: JWT_TOKEN_TYPE,
    token_url: GOOGLE_STS_TOKEN_URL,
    service_account_impersonation_url: `${GOOGLE_IAM_CREDENTIALS_URL}/projects/-/serviceAccounts/${input.serviceAccountEmail}:generateAccessToken`,
    credential_source: { file: input.tokenPath, format: { type: "text" } },
  };
}

/** The Secret key the credential configuration is stored under (seed 001's `gc-conf`). */
export const CREDENTIALS_KEY = "key.json";
/** Where the pod snippet mounts the Secret. */
export const CREDENTIALS_MOUNT_PATH = "/etc/gcp";
