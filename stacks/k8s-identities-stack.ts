import { Construct } from "constructs";
import { Fn, TerraformOutput } from "cdktf";
import { DataAwsEksCluster } from "@cdktf/provider-aws/lib/data-aws-eks-cluster";
import { ConfigMapV1Data } from "@cdktf/provider-kubernetes/lib/config-map-v1-data";
import { DataKubernetesConfigMapV1 } from "@cdktf/provider-kubernetes/lib/data-kubernetes-config-map-v1";
import { NamespaceV1 } from "@cdktf/provider-kubernetes/lib/namespace-v1";
import { KubernetesProvider } from "@cdktf/provider-kubernetes/lib/provider";
import { SecretV1 } from "@cdktf/provider-kubernetes/lib/secret-v1";
import { ServiceAccountV1 } from "@cdktf/provider-kubernetes/lib/service-account-v1";
import { EnvironmentAwsProvider } from "../constructs/environment-aws-provider";
import { suppressRules } from "../constructs/security-rules-aspect";
import { DEFAULT_AUDIENCE } from "../lib/config/schema";
import type { ResolvedCluster } from "../lib/config/clusters";
import { k8sIds } from "../lib/config/construct-ids";
import type { Environment } from "../lib/config/load";
import { gitlabConnectionSecret, gitlabRegistryStorageSecret } from "../lib/gitlab/secrets";
import { awsAuthData, keepsNodeRolesCondition } from "../lib/kubernetes/aws-auth";
import { CREDENTIALS_KEY, externalAccountCredentials } from "../lib/kubernetes/credential-config";
import { podSpecSnippet } from "../lib/kubernetes/pod-spec";
import type { AwsWorkloadsStack } from "./aws-workloads-stack";
import { EnvironmentStack } from "./environment-stack";
import type { GcpWifStack } from "./gcp-wif-stack";
import type { GitlabStorageStack } from "./gitlab-storage-stack";

export interface K8sIdentitiesSources {
  /** The roles of the stack's workloads: `aws-workloads-<env>` (or the team's); absent only for a team without AWS access. */
  readonly awsWorkloads?: AwsWorkloadsStack;
  /** When the environment configures GitLab storage. */
  readonly gitlabStorage?: GitlabStorageStack;
  /** When the environment configures Google access (the team's gcp-wif-<env>-<team> for a team's stack). */
  readonly gcpWif?: GcpWifStack;
  /**
   * The team whose ServiceAccounts the stack holds (`k8s-identities-<env>-<team>`), with the environment's own
   * stack, whose namespaces the team's ServiceAccounts are put into by reference when it creates them.
   * @default the environment file's (`k8s-identities-<env>`: its workloads, GitLab's, aws-auth)
   */
  readonly team?: { readonly name: string; readonly environmentStack: K8sIdentitiesStack };
}

export const MANAGED_BY_LABELS = { "app.kubernetes.io/managed-by": "cluster-identity" };
export const ROLE_ARN_ANNOTATION = "eks.amazonaws.com/role-arn";

/**
 * `k8s-identities-<env>`: where every identity meets the clusters — in each cluster a workload runs on, through
 * that cluster's own provider configuration (the anchor cluster's is the default provider, with the resource
 * ids of a single-cluster environment; every other cluster's is aliased by its name and its resources carry it). The catalog's ServiceAccounts, annotated
 * with their IRSA role (Pod Identity needs no annotation), the Google credential configurations, GitLab's
 * ServiceAccount and object-storage Secrets, and — for EKS clusters still on it — the aws-auth ConfigMap.
 * Every ARN, audience and e-mail in it is a cross-stack reference to the stack that owns it.
 *
 * With a team scope, `k8s-identities-<env>-<team>`: the team's ServiceAccounts (annotated with the roles of
 * `aws-workloads-<env>-<team>`), their credential Secrets (naming `gcp-wif-<env>-<team>`'s service accounts and the
 * environment's providers) and the namespaces they create, under the same ids; GitLab and aws-auth stay the
 * environment's.
 */
export class K8sIdentitiesStack extends EnvironmentStack {
  /** By workload id; GitLab's under `<namespace>/<serviceAccount>` too. The first cluster's. */
  readonly serviceAccounts: ReadonlyMap<string, ServiceAccountV1>;
  /** By cluster name, then as `serviceAccounts`. */
  readonly serviceAccountsByCluster: ReadonlyMap<string, ReadonlyMap<string, ServiceAccountV1>>;
  /** The namespaces the stack creates, by cluster name, then by namespace name. */
  readonly namespacesByCluster: ReadonlyMap<string, ReadonlyMap<string, NamespaceV1>>;
  private readonly createdNamespaces = new Map<string, Map<string, NamespaceV1>>();

  constructor(scope: Construct, environment: Environment, sources: K8sIdentitiesSources) {
    super(scope, "k8s-identities", environment, sources.team?.name);
    this.namespacesByCluster = this.createdNamespaces;
    if (environment.clusters.some((cluster) => cluster.type === "eks")) new EnvironmentAwsProvider(this, "aws", environment);
    const byCluster = new Map<string, ReadonlyMap<string, ServiceAccountV1>>();
    for (const cluster of environment.clusters) byCluster.set(cluster.name, this.clusterIdentities(environment, cluster, sources));
    this.serviceAccountsByCluster = byCluster;
    this.serviceAccounts = byCluster.get(environment.clusters[0].name)!;
  }

  /** Everything this stack puts into one cluster. */
  private clusterIdentities(environment: Environment, cluster: ResolvedCluster, sources: K8sIdentitiesSources): Map<string, ServiceAccountV1> {
    const { catalog } = environment;
    const team = sources.team;
    const provider = this.configureProvider(environment, cluster);
    const inCluster = provider ? { provider } : {};

    const namespaces = new Map<string, NamespaceV1>();
    this.createdNamespaces.set(cluster.name, namespaces);
    const namespaceOf = (name: string, create: boolean): string => {
      if (!create) return name;
      // A namespace the environment's stack creates (a workload of the environment file there): that one, by reference.
      const environments = team?.environmentStack.namespacesByCluster.get(cluster.name)?.get(name);
      if (environments) return environments.metadata.name;
      let namespace = namespaces.get(name);
      // A namespace holds everything deployed into it: never let a plan delete one.
      namespace ??= new NamespaceV1(this, k8sIds.namespace(name, cluster), { metadata: { name, labels: MANAGED_BY_LABELS }, lifecycle: { preventDestroy: true }, ...inCluster });
      namespaces.set(name, namespace);
      return namespace.metadata.name;
    };

    const serviceAccounts = new Map<string, ServiceAccountV1>();
    for (const workload of catalog.workloads) {
      if (!workload.clusters.includes(cluster.name) || workload.team !== team?.name) continue;
      const annotations: Record<string, string> = {};
      if (workload.aws?.mode === "irsa") {
        if (!sources.awsWorkloads) throw new Error(`${this.node.id}: ${workload.id} has AWS access but there is no aws-workloads stack`);
        annotations[ROLE_ARN_ANNOTATION] = sources.awsWorkloads.roleArnOf(workload.id);
        if (cluster.audiences[0] !== DEFAULT_AUDIENCE) annotations["eks.amazonaws.com/audience"] = cluster.audiences[0];
        if (workload.aws.tokenExpirationSeconds) annotations["eks.amazonaws.com/token-expiration"] = String(workload.aws.tokenExpirationSeconds);
      }
      const namespace = namespaceOf(workload.namespace, workload.createNamespace);
      const serviceAccount = new ServiceAccountV1(this, k8sIds.serviceAccount(workload.id, cluster), {
        metadata: { name: workload.serviceAccount, namespace, labels: MANAGED_BY_LABELS, annotations },
        automountServiceAccountToken: workload.automountServiceAccountToken,
        ...inCluster,
      });
      // An API token in every pod is the config's explicit choice: accept CI-K8S-6 for it, visibly.
      if (workload.automountServiceAccountToken)
        suppressRules(serviceAccount, { ruleId: "CI-K8S-6", reason: `${environment.file}: ${workload.id} sets automountServiceAccountToken: true` });
      serviceAccounts.set(workload.id, serviceAccount);

      if (workload.gcp) {
        if (!sources.gcpWif) throw new Error(`${this.node.id}: ${workload.id} has gcp access but there is no gcp-wif stack`);
        const identity = sources.gcpWif.forWorkload(workload.id);
        const here = identity.byCluster.get(cluster.name);
        if (!here) throw new Error(`${this.node.id}: ${workload.id} has no Google identity on ${cluster.name}`);
        // The credential configuration names this cluster's provider: its tokens are only accepted there.
        const credentials = externalAccountCredentials({
          audience: here.providerAudience,
          serviceAccountEmail: identity.serviceAccountEmail,
          tokenPath: identity.tokenPath,
        });
        // Not secret material (no key), but a Secret because that is how pods mount it.
        new SecretV1(this, k8sIds.gcpCredentials(workload.id, cluster), {
          metadata: { name: workload.gcp.credentialsSecretName, namespace, labels: MANAGED_BY_LABELS },
          data: { [CREDENTIALS_KEY]: JSON.stringify(credentials, null, 2) },
          type: "Opaque",
          ...inCluster,
        });
        new TerraformOutput(this, k8sIds.podSpecOutput(workload.id, cluster), {
          value: podSpecSnippet({
            serviceAccount: workload.serviceAccount,
            credentialsSecretName: workload.gcp.credentialsSecretName,
            token: workload.gcp.token,
            tokenPath: identity.tokenPath,
            tokenAudience: here.tokenAudience,
          }),
          description: `Pod spec fragment for ${workload.id}${cluster.idSuffix ? ` on ${cluster.name}` : ""}: Google credentials${workload.gcp.token === "projected-token" ? " and the projected token" : ""}`,
        });
      }
    }

    const gitlab = team ? undefined : sources.gitlabStorage;
    if (gitlab) {
      const settings = gitlab.settings;
      const namespace = namespaceOf(settings.namespace, settings.createNamespace);
      const gitlabServiceAccount = new ServiceAccountV1(this, k8sIds.gitlabServiceAccount(cluster), {
        metadata: {
          name: settings.serviceAccount,
          namespace,
          labels: MANAGED_BY_LABELS,
          annotations: settings.mode === "irsa" ? { [ROLE_ARN_ANNOTATION]: gitlab.roleArn } : {},
        },
        automountServiceAccountToken: settings.automountServiceAccountToken,
        ...inCluster,
      });
      if (settings.automountServiceAccountToken)
        suppressRules(gitlabServiceAccount, { ruleId: "CI-K8S-6", reason: `${environment.file}: gitlab.automountServiceAccountToken is true` });
      serviceAccounts.set(`${settings.namespace}/${settings.serviceAccount}`, gitlabServiceAccount);
      new SecretV1(this, k8sIds.gitlabConnection(cluster), {
        metadata: { name: settings.connectionSecretName, namespace, labels: MANAGED_BY_LABELS },
        data: { connection: gitlabConnectionSecret(gitlab.region) },
        type: "Opaque",
        ...inCluster,
      });
      const registry = settings.buckets.find((bucket) => bucket.purpose === "registry");
      if (registry)
        new SecretV1(this, k8sIds.gitlabRegistryStorage(cluster), {
          metadata: { name: settings.registrySecretName, namespace, labels: MANAGED_BY_LABELS },
          data: { config: gitlabRegistryStorageSecret(registry.name, gitlab.region) },
          type: "Opaque",
          ...inCluster,
        });
    }

    const access = catalog.clusterAccess;
    if (!team && access?.method === "aws-auth" && cluster.type === "eks") {
      const existing = new DataKubernetesConfigMapV1(this, k8sIds.awsAuthCurrent(cluster), { metadata: { name: "aws-auth", namespace: "kube-system" }, ...inCluster });
      const data = awsAuthData(access.nodeRoleArns, access.mappings);
      const awsAuth = new ConfigMapV1Data(this, k8sIds.awsAuth(cluster), {
        metadata: { name: "aws-auth", namespace: "kube-system" },
        data: { mapRoles: data.mapRoles, mapUsers: data.mapUsers },
        force: true,
        lifecycle: {
          precondition: [
            {
              condition: keepsNodeRolesCondition(`data.kubernetes_config_map_v1.${existing.friendlyUniqueId}`, access.nodeRoleArns),
              errorMessage: "aws-auth: the ConfigMap in the cluster maps a node role (group system:nodes) that clusterAccess.nodeRoleArns does not list; applying would stop those nodes from joining.",
            },
          ],
        },
        ...inCluster,
      });
      // system:masters for people is the config's explicit choice (the loader refuses it for workload roles):
      // accept CI-K8S-4 for it on this ConfigMap, naming who gets it.
      const masters = access.mappings.filter((mapping) => mapping.groups.includes("system:masters")).map((mapping) => mapping.arn);
      if (masters.length > 0)
        suppressRules(awsAuth, {
          ruleId: "CI-K8S-4",
          reason: `${environment.file}: clusterAccess.mappings give system:masters to ${masters.join(", ")} (not workload roles; prefer access entries)`,
        });
    }

    new TerraformOutput(this, k8sIds.serviceAccountsOutput(cluster), {
      value: [...serviceAccounts.keys()].sort(),
      description: `ServiceAccounts managed by this stack${cluster.idSuffix ? ` in ${cluster.name}` : ""} (<namespace>/<name>)`,
    });
    return serviceAccounts;
  }

  /**
   * The Kubernetes provider of a cluster: the default configuration for the anchor cluster (returns
   * undefined: resources use it implicitly), an alias named after the cluster for every other.
   */
  private configureProvider(environment: Environment, cluster: ResolvedCluster): KubernetesProvider | undefined {
    const { aws } = environment;
    const id = k8sIds.provider(cluster);
    const alias = cluster.idSuffix ? { alias: cluster.name } : {};
    let provider: KubernetesProvider;
    if (cluster.type === "self-managed") {
      provider = new KubernetesProvider(this, id, { configPath: cluster.kubeconfigPath, configContext: cluster.kubeconfigContext, ...alias });
    } else {
      // EKS: endpoint and CA from the EKS API, a short-lived token from the deployer's AWS credentials.
      const eks = new DataAwsEksCluster(this, k8sIds.eksCluster(cluster), { name: cluster.name });
      provider = new KubernetesProvider(this, id, {
        host: eks.endpoint,
        clusterCaCertificate: Fn.base64decode(eks.certificateAuthority.get(0).data),
        exec: [
          {
            apiVersion: "client.authentication.k8s.io/v1beta1",
            command: "aws",
            args: ["eks", "get-token", "--cluster-name", cluster.name, "--region", aws.region, ...(aws.assumeRoleArn ? ["--role-arn", aws.assumeRoleArn] : [])],
          },
        ],
        ...alias,
      });
    }
    return cluster.idSuffix ? provider : undefined;
  }
}
