/**
 * Naming and format rules (SPEC §5) as small pure checks.
 *
 * Each check returns `undefined` when the value is valid, or the rule it breaks as one sentence. The
 * sentences are part of the user interface: tests assert them verbatim, and the config loader prefixes
 * them with the file, field and value.
 */
export type Rule = (value: string) => string | undefined;

const DNS1123_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const DNS1123_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

/** Kubernetes namespace: a DNS-1123 label. */
export const namespaceRule: Rule = (value) =>
  value.length > 63 || !DNS1123_LABEL.test(value)
    ? "a Kubernetes namespace must be a DNS-1123 label: at most 63 characters of [a-z0-9-], starting and ending with [a-z0-9]"
    : undefined;

/** ServiceAccount, Secret and ConfigMap names: a DNS-1123 subdomain. */
export const objectNameRule: Rule = (value) =>
  value.length > 253 || !DNS1123_SUBDOMAIN.test(value)
    ? "a Kubernetes object name must be a DNS-1123 subdomain: at most 253 characters of [a-z0-9.-], each dot-separated part starting and ending with [a-z0-9]"
    : undefined;

/** Google limits `google.subject` to 127 bytes, and the subject is `system:serviceaccount:<ns>:<name>`. */
export function serviceAccountSubjectRule(namespace: string, name: string): string | undefined {
  const subject = `system:serviceaccount:${namespace}:${name}`;
  return subject.length > 127
    ? `the token subject "${subject}" is ${subject.length} characters; Google Workload Identity Federation accepts at most 127`
    : undefined;
}

const BUCKET_PREFIXES = ["xn--", "sthree-", "amzn-s3-demo-"];
const BUCKET_SUFFIXES = ["-s3alias", "--ol-s3", ".mrap", "--x-s3"];

/** General-purpose S3 bucket names (https://docs.aws.amazon.com/AmazonS3/latest/userguide/bucketnamingrules.html). */
export function bucketNameRule(value: string, options: { readonly allowDots?: boolean } = {}): string | undefined {
  const allowDots = options.allowDots ?? true;
  if (value.length < 3 || value.length > 63) return "an S3 bucket name must be 3 to 63 characters long";
  if (!/^[a-z0-9.-]+$/.test(value)) return "an S3 bucket name may contain only lowercase letters, digits, dots and hyphens";
  if (!/^[a-z0-9].*[a-z0-9]$/.test(value)) return "an S3 bucket name must start and end with a lowercase letter or digit";
  if (value.includes("..")) return "an S3 bucket name must not contain two adjacent dots";
  if (/^\d{1,3}(\.\d{1,3}){3}$/.test(value)) return "an S3 bucket name must not be formatted as an IP address";
  const prefix = BUCKET_PREFIXES.find((p) => value.startsWith(p));
  if (prefix) return `an S3 bucket name must not start with the reserved prefix "${prefix}"`;
  const suffix = BUCKET_SUFFIXES.find((s) => value.endsWith(s));
  if (suffix) return `an S3 bucket name must not end with the reserved suffix "${suffix}"`;
  if (!allowDots && value.includes("."))
    return "the issuer bucket name must not contain dots: the issuer URL is served by S3 virtual-hosted-style HTTPS, whose wildcard certificate does not cover dotted names";
  return undefined;
}

/** Workload Identity pool and provider ids. */
export const workloadIdentityIdRule: Rule = (value) => {
  if (!/^[a-z0-9-]{4,32}$/.test(value)) return "a workload identity pool or provider id must be 4 to 32 characters of [a-z0-9-]";
  if (value.startsWith("gcp-")) return 'a workload identity pool or provider id must not start with "gcp-" (reserved by Google)';
  return undefined;
};

/** Google service account id (the part before `@`). */
export const gcpServiceAccountIdRule: Rule = (value) =>
  value.length < 6 || value.length > 30 || !/^[a-z]([-a-z0-9]*[a-z0-9])$/.test(value)
    ? "a Google service account id must be 6 to 30 characters of [a-z0-9-], starting with a letter and not ending with a hyphen"
    : undefined;

export const gcpProjectNumberRule: Rule = (value) =>
  /^\d{1,20}$/.test(value) ? undefined : "a Google project number must be digits only";

export const gcpProjectIdRule: Rule = (value) =>
  /^[a-z][-a-z0-9]{4,28}[a-z0-9]$/.test(value)
    ? undefined
    : "a Google project id must be 6 to 30 characters of [a-z0-9-], starting with a letter and not ending with a hyphen";

/** IAM role names: 1–64 of `[\w+=,.@-]`. */
export const iamRoleNameRule: Rule = (value) => {
  if (value.length > 64) return `an IAM role name must be at most 64 characters (this one is ${value.length})`;
  if (!/^[\w+=,.@-]+$/.test(value)) return "an IAM role name may contain only letters, digits and +=,.@_-";
  return undefined;
};

export const awsAccountIdRule: Rule = (value) =>
  /^\d{12}$/.test(value) ? undefined : "an AWS account id must be exactly 12 digits";

export const awsRegionRule: Rule = (value) =>
  /^(us|eu|ap|sa|ca|me|af|il|mx|cn|us-gov|us-iso|us-isob)-[a-z]+-\d{1,2}$/.test(value)
    ? undefined
    : 'an AWS region must look like "ap-northeast-1" (<area>-<direction>-<number>)';

/** Any ARN: `arn:<partition>:<service>:<region>:<account>:<resource>`. */
export const arnRule: Rule = (value) =>
  /^arn:aws(-cn|-us-gov|-iso|-iso-b)?:[a-z0-9-]+:[a-z0-9-]*:(\d{12}|aws)?:.+$/.test(value)
    ? undefined
    : "an ARN must be well-formed: arn:<partition>:<service>:<region>:<account>:<resource>";

const PARTITION = "aws(-cn|-us-gov|-iso|-iso-b)?";
const KMS_KEY_ARN = new RegExp(`^arn:${PARTITION}:kms:[a-z]{2}(-[a-z]+)+-\\d{1,2}:\\d{12}:key/([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}|mrk-[0-9a-f]{32})$`);
const KMS_ALIAS_ARN = new RegExp(`^arn:${PARTITION}:kms:[^:]*:\\d{12}:alias/`);

/**
 * A KMS key ARN, as IAM policy statements need it: `arn:<partition>:kms:<region>:<account>:key/<key id>`
 * (a UUID, or `mrk-…` for a multi-Region key). Alias ARNs are refused: a statement on an alias ARN does not
 * cover the key's operations (S3 calls KMS with the key ARN). Never a wildcard.
 */
export const kmsKeyArnRule: Rule = (value) => {
  if (value.includes("*") || value.includes("?")) return "a KMS key ARN must name one key: no wildcards";
  if (KMS_ALIAS_ARN.test(value))
    return "a KMS alias ARN does not match the key in IAM policies; use the key ARN (aws kms describe-key --key-id alias/<name> --query KeyMetadata.Arn)";
  return KMS_KEY_ARN.test(value)
    ? undefined
    : "a KMS key ARN must be arn:<partition>:kms:<region>:<12-digit account>:key/<key id>";
};

/** An IAM managed policy ARN: `arn:<partition>:iam::<account or aws>:policy/<path/name>`, never a wildcard. */
export const iamPolicyArnRule: Rule = (value) => {
  if (value.includes("*") || value.includes("?")) return "a managed policy ARN must name one policy: no wildcards";
  return new RegExp(`^arn:${PARTITION}:iam::(\\d{12}|aws):policy/([\\w+=,.@-]+/)*[\\w+=,.@-]{1,128}$`).test(value)
    ? undefined
    : "a managed policy ARN must be arn:<partition>:iam::<12-digit account or aws>:policy/<path/name>";
};

export const iamRoleArnRule: Rule = (value) =>
  /^arn:aws(-cn|-us-gov|-iso|-iso-b)?:iam::\d{12}:role\/[\w+=,.@/-]{1,512}$/.test(value)
    ? undefined
    : "an IAM role ARN must be arn:<partition>:iam::<12-digit account>:role/<path/name>";

/**
 * OIDC issuer URLs as IAM accepts them and as Kubernetes puts them into the `iss` claim: `https://`,
 * a host, an optional path, no query, no fragment, no trailing slash (IAM compares `iss` byte for byte).
 */
export const issuerUrlRule: Rule = (value) => {
  if (!/^https:\/\/[a-z0-9.-]+(:\d+)?(\/[A-Za-z0-9._~%!$&'()*+,;=:@-]+)*$/.test(value))
    return "an OIDC issuer URL must be https://<host>[/<path>] with no query, fragment or trailing slash";
  return undefined;
};

/** The audience a token carries for AWS STS or another relying party. */
export const audienceRule: Rule = (value) =>
  value.length === 0 || value.length > 255 || /\s/.test(value)
    ? "an audience must be 1 to 255 characters without whitespace"
    : undefined;

/** A team of `teams:`: its name ends the team file's path (config/<env>/<team>.yaml) and the team's stack ids. */
export const teamNameRule: Rule = (value) =>
  /^[a-z][a-z0-9-]{0,19}$/.test(value) && !value.endsWith("-")
    ? undefined
    : "a team name must be 1 to 20 characters of [a-z0-9-], starting with a letter and not ending with -: it names the team file (config/<env>/<team>.yaml) and ends the team's stack ids";

/** An owner in .gitlab/CODEOWNERS: a GitLab user (`@user`) or group (`@group/subgroup`). */
export const gitlabOwnerRule: Rule = (value) =>
  /^@[A-Za-z0-9_][A-Za-z0-9_.-]*(\/[A-Za-z0-9_][A-Za-z0-9_.-]*)*$/.test(value) && !/[.-]$/.test(value)
    ? undefined
    : "an owner is a GitLab user (@user) or group (@group/subgroup), as CODEOWNERS names them";
