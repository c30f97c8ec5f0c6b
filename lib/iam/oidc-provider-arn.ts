/**
 * IAM OIDC provider ARNs: `arn:<partition>:iam::<account>:oidc-provider/<issuer host + path>`. One place that
 * builds and reads them, for the config loader (an adopted provider must be the cluster's) and the stacks.
 */

export interface OidcProviderArnParts {
  readonly partition: string;
  readonly accountId: string;
  /** The issuer without `https://`: what IAM names the provider by. */
  readonly issuerHostPath: string;
}

const OIDC_PROVIDER_ARN = /^arn:(aws|aws-cn|aws-us-gov|aws-iso|aws-iso-b):iam::(\d{12}):oidc-provider\/([a-z0-9.-]+(?::\d+)?(?:\/[A-Za-z0-9._~%!$&'()*+,;=:@-]+)*)$/;

export function oidcProviderArn(parts: OidcProviderArnParts): string {
  return `arn:${parts.partition}:iam::${parts.accountId}:oidc-provider/${parts.issuerHostPath}`;
}

/** The parts of a well-formed OIDC provider ARN, or undefined. */
export function parseOidcProviderArn(arn: string): OidcProviderArnParts | undefined {
  const match = OIDC_PROVIDER_ARN.exec(arn);
  return match ? { partition: match[1], accountId: match[2], issuerHostPath: match[3] } : undefined;
}

/**
 * Why an existing provider's ARN cannot stand for the given issuer in the given account (undefined when it
 * can): the sentence names both values, so the config error shows what was expected.
 */
export function oidcProviderMismatch(arn: string, expected: OidcProviderArnParts): string | undefined {
  const parts = parseOidcProviderArn(arn);
  if (!parts) return "an IAM OIDC provider ARN must be arn:<partition>:iam::<12-digit account>:oidc-provider/<issuer host and path>";
  if (parts.accountId !== expected.accountId)
    return `the provider is in account ${parts.accountId}, but this environment deploys to account ${expected.accountId}`;
  if (parts.issuerHostPath !== expected.issuerHostPath)
    return `the provider is for issuer ${parts.issuerHostPath}, but the cluster's issuer is ${expected.issuerHostPath}`;
  if (parts.partition !== expected.partition)
    return `the provider is in partition ${parts.partition}, but this environment's region is in ${expected.partition}`;
  return undefined;
}
