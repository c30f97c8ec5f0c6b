import { Construct } from "constructs";
import { TerraformLocal, TerraformOutput } from "cdktf";
import { DataAwsCallerIdentity } from "@cdktf/provider-aws/lib/data-aws-caller-identity";
import { DataAwsIamSessionContext } from "@cdktf/provider-aws/lib/data-aws-iam-session-context";
import { EnvironmentAwsProvider } from "../constructs/environment-aws-provider";
import { declareOidcProvider } from "../constructs/oidc-provider";
import { S3OidcIssuer } from "../constructs/s3-oidc-issuer";
import type { Environment } from "../lib/config/load";
import { apiServerFlags } from "../lib/oidc/issuer";
import { EnvironmentStack } from "./environment-stack";

/**
 * `oidc-<env>`: the cluster's service-account token issuer as AWS knows it.
 *
 * - self-managed clusters: the S3-hosted issuer (discovery document + JWKS) and the IAM OIDC provider;
 * - EKS: only the IAM OIDC provider for the issuer EKS already hosts.
 *
 * Its public readonly properties are what the other stacks of the environment consume.
 */
export class OidcStack extends EnvironmentStack {
  /** `https://host[/path]`, exactly the tokens' `iss`. */
  readonly issuerUrl: string;
  /** The issuer without `https://`: prefix of the trust-policy condition keys `<hostPath>:aud` / `:sub`. */
  readonly issuerHostPath: string;
  /** ARN of the IAM OIDC provider; IRSA trust policies name it as their Federated principal. */
  readonly providerArn: string;
  /** Client ids of the provider; the first is the default audience of IRSA tokens. */
  readonly audiences: readonly string[];
  /**
   * The issuer URL for other stacks' configuration: for a self-hosted issuer a cross-stack reference (this
   * stack, which publishes the documents, is the source of truth); for EKS the configured cluster issuer.
   */
  readonly publishedIssuerUrl: string;
  /** The S3-hosted issuer, for self-managed clusters only. */
  readonly issuer?: S3OidcIssuer;

  constructor(scope: Construct, environment: Environment) {
    super(scope, "oidc", environment);
    new EnvironmentAwsProvider(this, "aws", environment);
    const cluster = environment.cluster;
    this.issuerUrl = cluster.issuerUrl;
    this.issuerHostPath = cluster.issuerHostPath;
    this.audiences = cluster.audiences;

    if (cluster.type === "self-managed") {
      this.issuer = new S3OidcIssuer(this, "issuer", {
        bucketName: cluster.issuerBucketName,
        issuerUrl: cluster.issuerUrl,
        jwks: cluster.jwks,
        documentWriterArns: cluster.issuerWriterArns.length > 0 ? cluster.issuerWriterArns : [this.deployingPrincipalArn()],
      });
    }

    this.publishedIssuerUrl = this.issuer ? new TerraformLocal(this, "published_issuer_url", this.issuerUrl).asString : this.issuerUrl;

    const provider = declareOidcProvider(this, "provider", {
      url: this.issuerUrl,
      clientIds: this.audiences,
      tags: { Name: `${cluster.name}-service-accounts` },
      // STS only trusts the issuer once its documents are readable.
      ...(this.issuer ? { dependsOn: this.issuer.servingResources } : {}),
    });
    this.providerArn = provider.arn;

    if (this.issuer)
      new TerraformOutput(this, "issuer_document_writers", {
        value: this.issuer.documentWriterArns,
        description: "The only principals the issuer bucket lets write or delete the discovery document and JWKS",
      });
    new TerraformOutput(this, "issuer_url", {
      value: this.issuerUrl,
      description: "OIDC issuer of the cluster's service-account tokens (their iss claim)",
    });
    new TerraformOutput(this, "oidc_provider_arn", {
      value: this.providerArn,
      description: "IAM OIDC provider that IRSA roles trust",
    });
    new TerraformOutput(this, "audiences", {
      value: this.audiences,
      description: "Audiences (client ids) the IAM OIDC provider accepts",
    });
    if (cluster.type === "self-managed" && this.issuer) {
      new TerraformOutput(this, "issuer_bucket", {
        value: this.issuer.bucket.bucket,
        description: "Bucket hosting the discovery document and JWKS",
      });
      new TerraformOutput(this, "api_server_flags", {
        value: apiServerFlags({
          issuerUrl: cluster.issuerUrl,
          publicKeyFileNames: cluster.serviceAccountKeys.map((key) => key.file.split("/").pop() ?? key.file),
          keyDirectory: cluster.apiServerKeyDirectory,
        }),
        description:
          "kube-apiserver flags for this issuer; copy every public key file and the private signing key to the key directory",
      });
    }
  }

  /**
   * The IAM principal terraform apply runs as, as `aws:PrincipalArn` sees it: for an assumed-role session the
   * role's ARN (with its path), otherwise the user's ARN. Read at plan time.
   */
  private deployingPrincipalArn(): string {
    const caller = new DataAwsCallerIdentity(this, "deployer");
    return new DataAwsIamSessionContext(this, "deployer-session", { arn: caller.arn }).issuerArn;
  }
}
