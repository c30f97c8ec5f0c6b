/**
 * Issuer URLs, IAM condition-key prefixes and the OIDC discovery document of a self-hosted issuer.
 */

/** Path of the discovery document, relative to the issuer URL (OpenID Connect Discovery 1.0 §4). */
export const DISCOVERY_KEY = ".well-known/openid-configuration";
/** Object key of the JWKS in the issuer bucket (as in the pod-identity-webhook self-hosted setup). */
export const JWKS_KEY = "keys.json";

/** DNS suffix of S3 endpoints in the region's partition. */
export function awsDnsSuffix(region: string): string {
  return region.startsWith("cn-") ? "amazonaws.com.cn" : "amazonaws.com";
}

export function awsPartition(region: string): string {
  if (region.startsWith("cn-")) return "aws-cn";
  if (region.startsWith("us-gov-")) return "aws-us-gov";
  return "aws";
}

/**
 * The region in an EKS cluster's issuer URL (`https://oidc.eks.<region>.amazonaws.com[.cn]/id/<id>`), or
 * undefined for an issuer of another form. EKS issues a cluster's tokens from the cluster's own region.
 */
export function eksIssuerRegion(issuerUrl: string): string | undefined {
  return /^https:\/\/oidc\.eks\.([a-z0-9-]+)\.amazonaws\.com(?:\.cn)?\/id\/[^/]+$/.exec(issuerUrl)?.[1];
}

/**
 * The issuer served from an S3 bucket over virtual-hosted-style HTTPS with the regional endpoint:
 * `https://<bucket>.s3.<region>.amazonaws.com`. No trailing slash: the API server writes this string
 * into `iss` and IAM compares it byte for byte with the provider URL.
 */
export function s3IssuerUrl(bucketName: string, region: string): string {
  return `https://${bucketName}.s3.${region}.${awsDnsSuffix(region)}`;
}

/**
 * The issuer without its scheme: the IAM OIDC provider's identifier, and the prefix of the condition keys
 * (`<host-path>:aud`, `<host-path>:sub`) that trust policies use.
 */
export function issuerHostPath(issuerUrl: string): string {
  return issuerUrl.replace(/^https:\/\//, "");
}

export interface DiscoveryDocument {
  readonly issuer: string;
  readonly jwks_uri: string;
  readonly authorization_endpoint: string;
  readonly response_types_supported: readonly string[];
  readonly subject_types_supported: readonly string[];
  readonly id_token_signing_alg_values_supported: readonly string[];
  readonly claims_supported: readonly string[];
}

/** The discovery document AWS STS and Google STS fetch to find the JWKS. */
export function discoveryDocument(issuerUrl: string): DiscoveryDocument {
  return {
    issuer: issuerUrl,
    jwks_uri: `${issuerUrl}/${JWKS_KEY}`,
    authorization_endpoint: "urn:kubernetes:programmatic_authorization",
    response_types_supported: ["id_token"],
    subject_types_supported: ["public"],
    id_token_signing_alg_values_supported: ["RS256"],
    claims_supported: ["sub", "iss"],
  };
}

/** `system:serviceaccount:<ns>:<name>`, the `sub` claim of a ServiceAccount token. */
export function serviceAccountSubject(namespace: string, name: string): string {
  return `system:serviceaccount:${namespace}:${name}`;
}

export interface ApiServerFlagsInput {
  readonly issuerUrl: string;
  /** Base names of the public key files, in JWKS order. */
  readonly publicKeyFileNames: readonly string[];
  /** Directory on the control-plane nodes that holds the key files. */
  readonly keyDirectory: string;
}

/**
 * kube-apiserver flags a self-managed cluster needs for this issuer. `--api-audiences` keeps the issuer
 * (the Kubernetes default) so in-cluster tokens stay valid; pods get STS-audience tokens by projection.
 */
export function apiServerFlags(input: ApiServerFlagsInput): string[] {
  return [
    `--service-account-issuer=${input.issuerUrl}`,
    `--api-audiences=${input.issuerUrl}`,
    ...input.publicKeyFileNames.map((file) => `--service-account-key-file=${input.keyDirectory}/${file}`),
    `--service-account-signing-key-file=${input.keyDirectory}/service-account-signing-key`,
  ];
}
