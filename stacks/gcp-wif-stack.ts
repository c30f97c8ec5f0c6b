import { Construct } from "constructs";
import { Annotations, TerraformOutput } from "cdktf";
import { BigqueryDatasetIamMember } from "@cdktf/provider-google/lib/bigquery-dataset-iam-member";
import { IamWorkloadIdentityPool } from "@cdktf/provider-google/lib/iam-workload-identity-pool";
import { IamWorkloadIdentityPoolProvider } from "@cdktf/provider-google/lib/iam-workload-identity-pool-provider";
import { ProjectIamMember } from "@cdktf/provider-google/lib/project-iam-member";
import { ProjectService } from "@cdktf/provider-google/lib/project-service";
import { ServiceAccount } from "@cdktf/provider-google/lib/service-account";
import { ServiceAccountIamMember } from "@cdktf/provider-google/lib/service-account-iam-member";
import { EnvironmentGoogleProvider } from "../constructs/environment-google-provider";
import { suppressRules } from "../constructs/security-rules-aspect";
import type { GcpEnvironment, Workload, WorkloadGcpAccess } from "../lib/config/catalog";
import type { Environment } from "../lib/config/load";
import { allowedAudiences, attributeCondition, attributeMapping, GcpTokenChoice, tokenAudience } from "../lib/gcp/attributes";
import {
  providerAudience,
  providerResourceName,
  roleConstructId,
  serviceAccountPrincipalSet,
  WORKLOAD_IDENTITY_USER_ROLE,
} from "../lib/gcp/resource-names";
import { gcpProviderIdOf } from "../lib/config/clusters";
import { gcpWifIds } from "../lib/config/construct-ids";
import { assertGrantableRole, isAdminRole, requiredApis } from "../lib/gcp/roles";
import { EnvironmentStack } from "./environment-stack";
import type { OidcStack } from "./oidc-stack";

/** What `k8s-identities-<env>` needs to write a workload's credential configuration and token projection. */
export interface GcpWorkloadIdentity {
  /** `<namespace>/<serviceAccount>` */
  readonly workloadId: string;
  readonly namespace: string;
  readonly serviceAccount: string;
  /** The Google service account the workload impersonates (a reference to the resource's `email`). */
  readonly serviceAccountEmail: string;
  readonly token: GcpTokenChoice;
  /** File the Google client libraries read the subject token from (credential_source.file). */
  readonly tokenPath: string;
  /** `aud` of that token: the IRSA audience for irsa-token, the provider audience for projected-token. */
  readonly tokenAudience: string;
  /** The principal set holding roles/iam.workloadIdentityUser on the service account. */
  readonly principalSet: string;
  /**
   * Per cluster the workload runs on (config order): the audience of its subject token there and the
   * audience of the credential configuration (that cluster's provider, by cross-stack reference).
   */
  readonly byCluster: ReadonlyMap<string, { readonly tokenAudience: string; readonly providerAudience: string }>;
}

/** One cluster's workload identity provider in the environment's pool. */
export interface ClusterWorkloadIdentityProvider {
  readonly providerId: string;
  /** `projects/<number>/locations/global/workloadIdentityPools/<pool>/providers/<provider>` */
  readonly providerName: string;
  /** `//iam.googleapis.com/<providerName>` */
  readonly providerAudience: string;
  /** The same, built from the deployed provider's `name` (for other stacks). */
  readonly publishedProviderAudience: string;
  readonly provider: IamWorkloadIdentityPoolProvider;
}

/** A team's `gcp-wif-<env>-<team>`: its service accounts, in the pool and behind the providers of `gcp-wif-<env>`. */
export interface GcpWifTeamScope {
  readonly name: string;
  readonly environmentStack: GcpWifStack;
}

/**
 * `gcp-wif-<env>`: Google Workload Identity Federation for the cluster's service-account tokens (seed 001).
 *
 * One pool with one OIDC provider trusting the cluster issuer published by `oidc-<env>` (OIDC, not the `aws`
 * provider type: that one needs the EC2 metadata server, which Fargate pods do not have), an attribute
 * condition admitting only the catalog's ServiceAccounts, and per workload a Google service account with its
 * roles and `roles/iam.workloadIdentityUser` for exactly that ServiceAccount's principal set.
 *
 * The pool and the providers are the environment's: their attribute conditions admit every workload of the
 * catalog, the teams' included. A team's Google workloads get their service accounts in `gcp-wif-<env>-<team>`
 * (a team scope): the same constructs under the same ids, deployed after `gcp-wif-<env>` (a stack dependency: the
 * principal sets name the pool by id).
 */
export class GcpWifStack extends EnvironmentStack {
  readonly gcp: GcpEnvironment;
  /** `//iam.googleapis.com/projects/<number>/locations/global/workloadIdentityPools/<pool>/providers/<provider>` */
  readonly providerAudience: string;
  /** `projects/<number>/locations/global/workloadIdentityPools/<pool>/providers/<provider>` */
  readonly providerName: string;
  /**
   * The provider audience for other stacks: built from the deployed provider's `name`, so consumers (the
   * credential configurations in k8s-identities) follow this stack by remote state instead of a copy. Equal to
   * `providerAudience`, which this stack itself must use (the provider cannot reference its own attribute).
   */
  readonly publishedProviderAudience: string;
  /** Reference to the pool's `name` (`projects/<number>/locations/global/workloadIdentityPools/<pool>`). */
  readonly poolName: string;
  /** One provider per cluster, by cluster name (config order); the scalar properties above are the first's. */
  readonly providers: ReadonlyMap<string, ClusterWorkloadIdentityProvider>;
  /** By workload id (`<namespace>/<serviceAccount>`), only workloads with GCP access. */
  readonly workloadIdentities: ReadonlyMap<string, GcpWorkloadIdentity>;

  constructor(scope: Construct, environment: Environment, oidc: OidcStack, team?: GcpWifTeamScope) {
    super(scope, "gcp-wif", environment, team?.name);
    const gcp = environment.catalog.gcp;
    if (!gcp) throw new Error(`${environment.file}: gcp-wif-${environment.name} needs a gcp: section`);
    this.gcp = gcp;
    new EnvironmentGoogleProvider(this, "google", environment);

    // Sorted by id: the synthesized JSON, like the logical ids, does not change when the catalog is reordered.
    const workloads = environment.catalog.workloads
      .filter((workload): workload is Workload & { gcp: WorkloadGcpAccess } => !!workload.gcp)
      .sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
    const ref = { projectNumber: gcp.projectNumber, poolId: gcp.poolId };
    // The service accounts of this stack: the environment file's workloads, or the team's.
    const own = workloads.filter((workload) => workload.team === team?.name);
    const audiencesOf = new Map<string, { irsa: string; provider: string }>();
    for (const cluster of environment.clusters)
      audiencesOf.set(cluster.name, { irsa: oidc.issuerOf(cluster.name).audiences[0], provider: providerAudience({ ...ref, providerId: gcpProviderIdOf(cluster, gcp) }) });

    if (team) {
      const shared = team.environmentStack;
      this.addDependency(shared);
      this.poolName = shared.poolName;
      this.providers = shared.providers;
      this.providerName = shared.providerName;
      this.providerAudience = shared.providerAudience;
      this.publishedProviderAudience = shared.publishedProviderAudience;
      this.workloadIdentities = this.serviceAccounts(environment, own, audiencesOf, () => ({}));
      new TerraformOutput(this, "service_account_emails", {
        value: Object.fromEntries([...this.workloadIdentities].map(([id, identity]) => [id, identity.serviceAccountEmail])),
        description: `Google service account of each workload of team ${team.name} (<namespace>/<serviceAccount>)`,
      });
      return;
    }

    const apis = new Map<string, ProjectService>();
    if (gcp.enableApis)
      for (const service of requiredApis({ datasetGrants: workloads.some((workload) => workload.gcp.datasetRoles.length > 0) }))
        apis.set(
          service,
          new ProjectService(this, gcpWifIds.api(service), {
            project: gcp.projectId,
            service,
            // Other things in the project may use these APIs: destroying this stack must not turn them off.
            disableOnDestroy: false,
          }),
        );
    // Resources wait for the APIs they need when this stack enables them (no empty depends_on otherwise).
    const after = (...services: string[]) => {
      const dependsOn = services.flatMap((service) => (apis.has(service) ? [apis.get(service)!] : []));
      return dependsOn.length > 0 ? { dependsOn } : {};
    };

    const pool = new IamWorkloadIdentityPool(this, "pool", {
      project: gcp.projectId,
      workloadIdentityPoolId: gcp.poolId,
      displayName: `${environment.anchorCluster} k8s`.slice(0, 32),
      description: `Kubernetes service accounts of ${environment.anchorCluster} (${environment.name}), managed by cluster-identity`,
      ...after(...apis.keys()),
    });
    this.poolName = pool.name;

    // One provider per cluster: each trusts its cluster's issuer and admits only the workloads running there.
    // Principal sets are pool-wide, so this condition is what keeps a workload pinned to one cluster from being
    // impersonated with a token of another.
    const providers = new Map<string, ClusterWorkloadIdentityProvider>();
    for (const cluster of environment.clusters) {
      const providerRef = { ...ref, providerId: gcpProviderIdOf(cluster, gcp) };
      const audiences = audiencesOf.get(cluster.name)!;
      const here = workloads.filter((workload) => workload.clusters.includes(cluster.name));
      const elsewhere = workloads.filter((workload) => !workload.clusters.includes(cluster.name));
      const condition = attributeCondition(here, elsewhere);
      if (condition.scope === "namespaces")
        Annotations.of(this).addWarning(
          `the attribute condition${cluster.idSuffix ? ` of ${cluster.name}` : ""} lists namespaces, not ServiceAccounts: ${here.length} subjects exceed Google's 4096-character limit (the workloadIdentityUser bindings still name single ServiceAccounts)`,
        );
      const displayName = `${cluster.name} k8s`.slice(0, 32);
      const provider = new IamWorkloadIdentityPoolProvider(this, gcpWifIds.provider(cluster), {
        project: gcp.projectId,
        // The pool's attribute, not the configured id: the provider is created after the pool.
        workloadIdentityPoolId: pool.workloadIdentityPoolId,
        workloadIdentityPoolProviderId: providerRef.providerId,
        displayName,
        description: `Service-account token issuer of ${cluster.name}`,
        // A reference to oidc-<env> for a self-hosted issuer (terraform_remote_state), EKS's issuer otherwise.
        oidc: {
          issuerUri: oidc.issuerOf(cluster.name).publishedIssuerUrl,
          allowedAudiences: allowedAudiences(
            here.map((workload) => workload.gcp.token),
            audiences,
          ),
        },
        attributeMapping: attributeMapping(),
        attributeCondition: condition.expression,
      });
      providers.set(cluster.name, {
        providerId: providerRef.providerId,
        providerName: providerResourceName(providerRef),
        providerAudience: audiences.provider,
        publishedProviderAudience: `//iam.googleapis.com/${provider.name}`,
        provider,
      });
    }
    this.providers = providers;
    const first = providers.get(environment.clusters[0].name)!;
    this.providerName = first.providerName;
    this.providerAudience = first.providerAudience;
    this.publishedProviderAudience = first.publishedProviderAudience;

    // The principal sets name the pool by id: grant them once the pool exists.
    this.workloadIdentities = this.serviceAccounts(environment, own, audiencesOf, () => ({ dependsOn: [pool] }), after);
    const identities = this.workloadIdentities;

    for (const cluster of environment.clusters)
      new TerraformOutput(this, gcpWifIds.providerAudienceOutput(cluster), {
        value: providers.get(cluster.name)!.providerAudience,
        description: `Full resource name of the workload identity provider${cluster.idSuffix ? ` of ${cluster.name}` : ""}: the audience of credential configurations and of projected tokens for Google`,
      });
    new TerraformOutput(this, "pool_name", { value: this.poolName, description: "Workload identity pool" });
    new TerraformOutput(this, "service_account_emails", {
      value: Object.fromEntries([...identities].map(([id, identity]) => [id, identity.serviceAccountEmail])),
      description: "Google service account of each workload (<namespace>/<serviceAccount>)",
    });
  }

  /**
   * Per workload a Google service account, its roles and roles/iam.workloadIdentityUser for its ServiceAccount's
   * principal set, in a scope of its own (its logical ids derive from the workload id alone).
   */
  private serviceAccounts(
    environment: Environment,
    workloads: readonly (Workload & { gcp: WorkloadGcpAccess })[],
    audiencesOf: ReadonlyMap<string, { irsa: string; provider: string }>,
    afterPool: () => { dependsOn?: IamWorkloadIdentityPool[] },
    after: (...services: string[]) => { dependsOn?: ProjectService[] } = () => ({}),
  ): Map<string, GcpWorkloadIdentity> {
    const gcp = this.gcp;
    const ref = { projectNumber: gcp.projectNumber, poolId: gcp.poolId };
    const providers = this.providers;
    const constructIds = new Map<string, string>();
    const identities = new Map<string, GcpWorkloadIdentity>();
    for (const workload of workloads) {
      const id = gcpWifIds.workload(workload.id);
      const clash = constructIds.get(id);
      if (clash) throw new Error(`${environment.file}: workloads ${clash} and ${workload.id} map to the same construct id ${id}; rename one ServiceAccount`);
      constructIds.set(id, workload.id);
      // One scope per workload: its resources' logical ids derive from the workload id alone.
      const scopeOfWorkload = new Construct(this, id);
      const access = workload.gcp;

      const serviceAccount = new ServiceAccount(scopeOfWorkload, "service-account", {
        project: gcp.projectId,
        accountId: access.serviceAccountId,
        displayName: access.displayName,
        description: `Kubernetes ServiceAccount ${workload.id} of ${workload.clusters.join(", ")} through workload identity federation (cluster-identity)`,
        ...after("iam.googleapis.com"),
      });

      // An *Admin role gets here only when the config allows it (gcp.allowAdminRoles): record that choice on the
      // grant, so the security rules (CI-GCP-8) accept it and the synthesized JSON says why.
      const explicitAdmin = (grant: ProjectIamMember | BigqueryDatasetIamMember, role: string) => {
        if (access.allowAdminRoles && isAdminRole(role))
          suppressRules(grant, { ruleId: "CI-GCP-8", reason: `${environment.file}: ${workload.id} sets gcp.allowAdminRoles: true for ${role}` });
      };
      for (const role of [...new Set(access.projectRoles)].sort()) {
        assertGrantableRole(role, `${workload.id} project role`);
        // Additive member: never takes the role away from anyone else in the project.
        const grant = new ProjectIamMember(scopeOfWorkload, `project-role-${roleConstructId(role)}`, {
          project: gcp.projectId,
          role,
          member: serviceAccount.member,
        });
        explicitAdmin(grant, role);
      }

      const datasetGrants = new Map(access.datasetRoles.map((grant) => [`${grant.dataset}-${roleConstructId(grant.role)}`, grant]));
      for (const [grantId, grant] of [...datasetGrants].sort(([a], [b]) => a.localeCompare(b))) {
        assertGrantableRole(grant.role, `${workload.id} dataset role on ${grant.dataset}`);
        const member = new BigqueryDatasetIamMember(scopeOfWorkload, `dataset-role-${grantId}`, {
          project: gcp.projectId,
          datasetId: grant.dataset,
          role: grant.role,
          member: serviceAccount.member,
          ...after("bigquery.googleapis.com"),
        });
        explicitAdmin(member, grant.role);
      }

      const principalSet = serviceAccountPrincipalSet(ref, workload.namespace, workload.serviceAccount);
      new ServiceAccountIamMember(scopeOfWorkload, "workload-identity-user", {
        serviceAccountId: serviceAccount.name,
        role: WORKLOAD_IDENTITY_USER_ROLE,
        member: principalSet,
        ...afterPool(),
      });

      identities.set(workload.id, {
        workloadId: workload.id,
        namespace: workload.namespace,
        serviceAccount: workload.serviceAccount,
        serviceAccountEmail: serviceAccount.email,
        token: access.token,
        tokenPath: access.tokenPath,
        tokenAudience: tokenAudience(access.token, audiencesOf.get(workload.clusters[0])!),
        principalSet,
        byCluster: new Map(
          workload.clusters.map((name) => [
            name,
            { tokenAudience: tokenAudience(access.token, audiencesOf.get(name)!), providerAudience: providers.get(name)!.publishedProviderAudience },
          ]),
        ),
      });
    }
    return identities;
  }

  /** The GCP identity of a workload; throws for a workload without GCP access (a wiring bug). */
  forWorkload(workloadId: string): GcpWorkloadIdentity {
    const identity = this.workloadIdentities.get(workloadId);
    if (!identity) throw new Error(`${this.node.id}: workload ${workloadId} has no GCP access`);
    return identity;
  }
}
