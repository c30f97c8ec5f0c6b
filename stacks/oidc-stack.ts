import { Construct } from "constructs";
import { TerraformLocal, TerraformOutput } from "cdktf";
import { DataAwsCallerIdentity } from "@cdktf/provider-aws/lib/data-aws-caller-identity";
import { DataAwsIamSessionContext } from "@cdktf/provider-aws/lib/data-aws-iam-session-context";
import { EnvironmentAwsProvider } from "../constructs/environment-aws-provider";
import { declareOidcProvider, OidcProviderOrigin } from "../constructs/oidc-provider";
import { S3OidcIssuer } from "../constructs/s3-oidc-issuer";
import type { ResolvedCluster } from "../lib/config/clusters";
import { oidcIds } from "../lib/config/construct-ids";
import type { Environment } from "../lib/config/load";
import { apiServerFlags } from "../lib/oidc/issuer";
import { EnvironmentStack } from "./environment-stack";

/** One cluster's token issuer as AWS knows it: what the other stacks trust and federate. */
export interface ClusterIssuer {
  readonly cluster: ResolvedCluster;
  /** `https://host[/path]`, exactly the tokens' `iss`. */
  readonly issuerUrl: string;
  /** The issuer without `https://`: prefix of the trust-policy condition keys `<hostPath>:aud` / `:sub`. */
  readonly issuerHostPath: string;
  /** ARN of the IAM OIDC provider: a reference to the resource, or the configured ARN of a provider in use. */
  readonly providerArn: string;
  /** created here, used (managed elsewhere) or imported. */
  readonly providerOrigin: OidcProviderOrigin;
  /** Client ids of the provider; the first is the default audience of IRSA tokens. */
  readonly audiences: readonly string[];
  /** The issuer URL for other stacks: a cross-stack reference for a self-hosted issuer, the configured one for EKS. */
  readonly publishedIssuerUrl: string;
  /** The S3-hosted issuer, for self-managed clusters only. */
  readonly issuer?: S3OidcIssuer;
}

/**
 * `oidc-<env>`: each cluster's service-account token issuer as AWS knows it.
 *
 * - self-managed clusters: the S3-hosted issuer (discovery document + JWKS) and the IAM OIDC provider;
 * - EKS: only the IAM OIDC provider for the issuer EKS already hosts — or none, when the cluster's
 *   `oidcProvider: { use: … }` names one made elsewhere (eksctl, terraform-aws-eks).
 *
 * The anchor cluster's resources and outputs keep the single-cluster names; other clusters' carry their name.
 * Its public readonly properties are what the other stacks of the environment consume.
 */
export class OidcStack extends EnvironmentStack {
  /** By cluster name, in config order. */
  readonly clusterIssuers: ReadonlyMap<string, ClusterIssuer>;
  /** The first cluster's issuer (single-cluster code and tests). */
  readonly issuerUrl: string;
  readonly issuerHostPath: string;
  readonly providerArn: string;
  readonly audiences: readonly string[];
  readonly publishedIssuerUrl: string;
  readonly issuer?: S3OidcIssuer;

  constructor(scope: Construct, environment: Environment) {
    super(scope, "oidc", environment);
    new EnvironmentAwsProvider(this, "aws", environment);
    const issuers = new Map<string, ClusterIssuer>();
    for (const cluster of environment.clusters) issuers.set(cluster.name, this.declareCluster(cluster));
    this.clusterIssuers = issuers;
    const first = issuers.get(environment.clusters[0].name)!;
    this.issuerUrl = first.issuerUrl;
    this.issuerHostPath = first.issuerHostPath;
    this.providerArn = first.providerArn;
    this.audiences = first.audiences;
    this.publishedIssuerUrl = first.publishedIssuerUrl;
    if (first.issuer) this.issuer = first.issuer;
  }

  /** The issuer of a cluster of this environment; throws for another name (a wiring bug). */
  issuerOf(clusterName: string): ClusterIssuer {
    const issuer = this.clusterIssuers.get(clusterName);
    if (!issuer) throw new Error(`${this.node.id}: no cluster ${clusterName}`);
    return issuer;
  }

  private declareCluster(cluster: ResolvedCluster): ClusterIssuer {
    const output = (base: Parameters<typeof oidcIds.output>[0]) => oidcIds.output(base, cluster);
    const issuer =
      cluster.type === "self-managed"
        ? new S3OidcIssuer(this, oidcIds.issuer(cluster), {
            bucketName: cluster.issuerBucketName,
            issuerUrl: cluster.issuerUrl,
            jwks: cluster.jwks,
            documentWriterArns: cluster.issuerWriterArns.length > 0 ? cluster.issuerWriterArns : [this.deployingPrincipalArn()],
            ...(cluster.issuerAdoption ? { importExisting: cluster.issuerAdoption } : {}),
          })
        : undefined;
    const publishedIssuerUrl = issuer ? new TerraformLocal(this, oidcIds.publishedIssuerUrl(cluster), cluster.issuerUrl).asString : cluster.issuerUrl;

    const provider = declareOidcProvider(this, oidcIds.provider(cluster), {
      url: cluster.issuerUrl,
      clientIds: cluster.audiences,
      tags: { Name: `${cluster.name}-service-accounts` },
      ...(cluster.oidcProvider ? { choice: cluster.oidcProvider } : {}),
      // STS only trusts the issuer once its documents are readable.
      ...(issuer ? { dependsOn: issuer.servingResources } : {}),
    });

    if (issuer)
      new TerraformOutput(this, output("issuer_document_writers"), {
        value: issuer.documentWriterArns,
        description: "The only principals the issuer bucket lets write or delete the discovery document and JWKS",
      });
    new TerraformOutput(this, output("issuer_url"), {
      value: cluster.issuerUrl,
      description: `OIDC issuer of ${cluster.idSuffix ? cluster.name : "the cluster"}'s service-account tokens (their iss claim)`,
    });
    new TerraformOutput(this, output("oidc_provider_arn"), {
      value: provider.arn,
      description:
        provider.origin === "used"
          ? `IAM OIDC provider that IRSA roles trust (${cluster.name}: in use, managed elsewhere)`
          : cluster.idSuffix
            ? `IAM OIDC provider that IRSA roles trust (${cluster.name})`
            : "IAM OIDC provider that IRSA roles trust",
    });
    new TerraformOutput(this, output("audiences"), {
      value: cluster.audiences,
      description: "Audiences (client ids) the IAM OIDC provider accepts",
    });
    if (cluster.type === "self-managed" && issuer) {
      new TerraformOutput(this, output("issuer_bucket"), {
        value: issuer.bucket.bucket,
        description: "Bucket hosting the discovery document and JWKS",
      });
      new TerraformOutput(this, output("api_server_flags"), {
        value: apiServerFlags({
          issuerUrl: cluster.issuerUrl,
          publicKeyFileNames: cluster.serviceAccountKeys.map((key) => key.file.split("/").pop() ?? key.file),
          keyDirectory: cluster.apiServerKeyDirectory,
        }),
        description:
          "kube-apiserver flags for this issuer; copy every public key file and the private signing key to the key directory",
      });
    }
    return {
      cluster,
      issuerUrl: cluster.issuerUrl,
      issuerHostPath: cluster.issuerHostPath,
      providerArn: provider.arn,
      providerOrigin: provider.origin,
      audiences: cluster.audiences,
      publishedIssuerUrl,
      ...(issuer ? { issuer } : {}),
    };
  }

  /**
   * The IAM principal terraform apply runs as, as `aws:PrincipalArn` sees it: for an assumed-role session the
   * role's ARN (with its path), otherwise the user's ARN. Read at plan time.
   */
  private deployingPrincipalArn(): string {
    // One pair of data sources for every self-hosted issuer of the stack.
    if (this.deployer === undefined) {
      const caller = new DataAwsCallerIdentity(this, "deployer");
      this.deployer = new DataAwsIamSessionContext(this, "deployer-session", { arn: caller.arn }).issuerArn;
    }
    return this.deployer;
  }

  private deployer?: string;
}
