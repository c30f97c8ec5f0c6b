import { Construct } from "constructs";
import { ITerraformDependable } from "cdktf";
import { IamOpenidConnectProvider } from "@cdktf/provider-aws/lib/iam-openid-connect-provider";
import { importExisting } from "./import-existing";

/**
 * How an environment gets an IAM OIDC provider (config `oidcProvider`):
 * - absent: created here;
 * - `{ use: arn }`: it exists and is managed elsewhere (eksctl, terraform-aws-eks, another team): never
 *   created or changed, trusts reference the ARN;
 * - `{ import: arn }`: it exists and this app manages it from now on, through a Terraform import block at
 *   the address a created provider has, so adopting it plans no replacement.
 */
export type OidcProviderChoice = { readonly use: string } | { readonly import: string };

export type OidcProviderOrigin = "created" | "used" | "imported";

export function oidcProviderOrigin(choice: OidcProviderChoice | undefined): OidcProviderOrigin {
  if (!choice) return "created";
  return "use" in choice ? "used" : "imported";
}

export interface OidcProviderProps {
  /** `https://host[/path]`, exactly the tokens' `iss`. */
  readonly url: string;
  readonly clientIds: readonly string[];
  /** @default created here */
  readonly choice?: OidcProviderChoice;
  /** @default {} */
  readonly tags?: Readonly<Record<string, string>>;
  /** What must exist before STS can use the issuer (a self-hosted issuer's documents). @default [] */
  readonly dependsOn?: readonly ITerraformDependable[];
}

export interface DeclaredOidcProvider {
  /** The provider's ARN: a reference to the resource, or the configured ARN of a provider in use. */
  readonly arn: string;
  readonly origin: OidcProviderOrigin;
  /** The managed resource; undefined for a provider in use. */
  readonly resource?: IamOpenidConnectProvider;
}

/**
 * Declares the IAM OIDC provider of an issuer in `scope` under `id`. A function rather than a construct on
 * purpose: the resource keeps the address `aws_iam_openid_connect_provider.<id>` that a created provider
 * always had, so choosing `import` later (or adopting instead of creating) moves no state.
 */
export function declareOidcProvider(scope: Construct, id: string, props: OidcProviderProps): DeclaredOidcProvider {
  const origin = oidcProviderOrigin(props.choice);
  if (props.choice && "use" in props.choice) return { arn: props.choice.use, origin };
  const resource = new IamOpenidConnectProvider(scope, id, {
    url: props.url,
    clientIdList: [...props.clientIds],
    ...(props.tags && Object.keys(props.tags).length > 0 ? { tags: { ...props.tags } } : {}),
    ...(props.dependsOn && props.dependsOn.length > 0 ? { dependsOn: [...props.dependsOn] } : {}),
  });
  if (props.choice && "import" in props.choice) importExisting(resource, props.choice.import);
  return { arn: resource.arn, origin, resource };
}
