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
import type { Environment } from "../lib/config/load";
import { gitlabConnectionSecret, gitlabRegistryStorageSecret } from "../lib/gitlab/secrets";
import { awsAuthData, keepsNodeRolesCondition } from "../lib/kubernetes/aws-auth";
import { CREDENTIALS_KEY, externalAccountCredentials } from "../lib/kubernetes/credential-config";
import { podSpecSnippet } from "../lib/kubernetes/pod-spec";
import type { AwsWorkloadsStack } from "./aws-workloads-stack";
import { workloadConstructId } from "./aws-workloads-stack";
import { EnvironmentStack } from "./environment-stack";
import type { GcpWifStack } from "./gcp-wif-stack";
import type { GitlabStorageStack } from "./gitlab-storage-stack";

export interface K8sIdentitiesSources {
  readonly awsWorkloads: AwsWorkloadsStack;
  /** When the environment configures GitLab storage. */
  readonly gitlabStorage?: GitlabStorageStack;
  /** When the environment configures Google access. */
  readonly gcpWif?: GcpWifStack;
}

export const MANAGED_BY_LABELS = { "app.kubernetes.io/managed-by": "cluster-identity" };
export const ROLE_ARN_ANNOTATION = "eks.amazonaws.com/role-arn";

/**
 * `k8s-identities-<env>`: where every identity meets the cluster. The catalog's ServiceAccounts, annotated
 * with their IRSA role (Pod Identity needs no annotation), the Google credential configurations, GitLab's
 * ServiceAccount and object-storage Secrets, and — for EKS clusters still on it — the aws-auth ConfigMap.
 * Every ARN, audience and e-mail in it is a cross-stack reference to the stack that owns it.
 */
export class K8sIdentitiesStack extends EnvironmentStack {
  /** By workload id; GitLab's under `<namespace>/<serviceAccount>` too. */
  readonly serviceAccounts: ReadonlyMap<string, ServiceAccountV1>;

  constructor(scope: Construct, environment: Environment, sources: K8sIdentitiesSources) {
    super(scope, "k8s-identities", environment);
    const { catalog, cluster } = environment;
    this.configureProvider(environment);

    const namespaces = new Map<string, NamespaceV1>();
    const namespaceOf = (name: string, create: boolean): string => {
      if (!create) return name;
      let namespace = namespaces.get(name);
      // A namespace holds everything deployed into it: never let a plan delete one.
      namespace ??= new NamespaceV1(this, `namespace-${name}`, { metadata: { name, labels: MANAGED_BY_LABELS }, lifecycle: { preventDestroy: true } });
      namespaces.set(name, namespace);
      return namespace.metadata.name;
    };

    const serviceAccounts = new Map<string, ServiceAccountV1>();
    for (const workload of catalog.workloads) {
      const annotations: Record<string, string> = {};
      if (workload.aws?.mode === "irsa") {
        annotations[ROLE_ARN_ANNOTATION] = sources.awsWorkloads.roleArnOf(workload.id);
        if (cluster.audiences[0] !== DEFAULT_AUDIENCE) annotations["eks.amazonaws.com/audience"] = cluster.audiences[0];
        if (workload.aws.tokenExpirationSeconds) annotations["eks.amazonaws.com/token-expiration"] = String(workload.aws.tokenExpirationSeconds);
      }
      const id = workloadConstructId(workload.id);
      const namespace = namespaceOf(workload.namespace, workload.createNamespace);
      serviceAccounts.set(
        workload.id,
        new ServiceAccountV1(this, `sa-${id}`, {
          metadata: { name: workload.serviceAccount, namespace, labels: MANAGED_BY_LABELS, annotations },
          automountServiceAccountToken: workload.automountServiceAccountToken,
        }),
      );

      if (workload.gcp) {
        if (!sources.gcpWif) throw new Error(`${this.node.id}: ${workload.id} has gcp access but there is no gcp-wif stack`);
        const identity = sources.gcpWif.forWorkload(workload.id);
        const credentials = externalAccountCredentials({
          audience: sources.gcpWif.publishedProviderAudience,
          serviceAccountEmail: identity.serviceAccountEmail,
          tokenPath: identity.tokenPath,
        });
        // Not secret material (no key), but a Secret because that is how pods mount it.
        new SecretV1(this, `gcp-credentials-${id}`, {
          metadata: { name: workload.gcp.credentialsSecretName, namespace, labels: MANAGED_BY_LABELS },
          data: { [CREDENTIALS_KEY]: JSON.stringify(credentials, null, 2) },
          type: "Opaque",
        });
        new TerraformOutput(this, `pod_spec_${id.replace(/-/g, "_")}`, {
          value: podSpecSnippet({
            serviceAccount: workload.serviceAccount,
            credentialsSecretName: workload.gcp.credentialsSecretName,
            token: workload.gcp.token,
            tokenPath: identity.tokenPath,
            tokenAudience: identity.tokenAudience,
          }),
          description: `Pod spec fragment for ${workload.id}: Google credentials${workload.gcp.token === "projected-token" ? " and the projected token" : ""}`,
        });
      }
    }

    const gitlab = sources.gitlabStorage;
    if (gitlab) {
      const settings = gitlab.settings;
      const namespace = namespaceOf(settings.namespace, settings.createNamespace);
      serviceAccounts.set(
        `${settings.namespace}/${settings.serviceAccount}`,
        new ServiceAccountV1(this, "sa-gitlab", {
          metadata: {
            name: settings.serviceAccount,
            namespace,
            labels: MANAGED_BY_LABELS,
            annotations: settings.mode === "irsa" ? { [ROLE_ARN_ANNOTATION]: gitlab.roleArn } : {},
          },
          automountServiceAccountToken: settings.automountServiceAccountToken,
        }),
      );
      new SecretV1(this, "gitlab-connection", {
        metadata: { name: settings.connectionSecretName, namespace, labels: MANAGED_BY_LABELS },
        data: { connection: gitlabConnectionSecret(gitlab.region) },
        type: "Opaque",
      });
      const registry = settings.buckets.find((bucket) => bucket.purpose === "registry");
      if (registry)
        new SecretV1(this, "gitlab-registry-storage", {
          metadata: { name: settings.registrySecretName, namespace, labels: MANAGED_BY_LABELS },
          data: { config: gitlabRegistryStorageSecret(registry.name, gitlab.region) },
          type: "Opaque",
        });
    }
    this.serviceAccounts = serviceAccounts;

    const access = catalog.clusterAccess;
    if (access?.method === "aws-auth") {
      const existing = new DataKubernetesConfigMapV1(this, "aws-auth-current", { metadata: { name: "aws-auth", namespace: "kube-system" } });
      const data = awsAuthData(access.nodeRoleArns, access.mappings);
      const awsAuth = new ConfigMapV1Data(this, "aws-auth", {
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

    new TerraformOutput(this, "service_accounts", {
      value: [...serviceAccounts.keys()].sort(),
      description: "ServiceAccounts managed by this stack (<namespace>/<name>)",
    });
  }

  private configureProvider(environment: Environment): void {
    const { cluster, catalog, aws } = environment;
    if (cluster.type === "self-managed") {
      new KubernetesProvider(this, "kubernetes", { configPath: catalog.kubernetes.kubeconfigPath, configContext: catalog.kubernetes.context });
      return;
    }
    // EKS: endpoint and CA from the EKS API, a short-lived token from the deployer's AWS credentials.
    new EnvironmentAwsProvider(this, "aws", environment);
    const eks = new DataAwsEksCluster(this, "cluster", { name: cluster.name });
    new KubernetesProvider(this, "kubernetes", {
      host: eks.endpoint,
      clusterCaCertificate: Fn.base64decode(eks.certificateAuthority.get(0).data),
      exec: [
        {
          apiVersion: "client.authentication.k8s.io/v1beta1",
          command: "aws",
          args: ["eks", "get-token", "--cluster-name", cluster.name, "--region", aws.region, ...(aws.assumeRoleArn ? ["--role-arn", aws.assumeRoleArn] : [])],
        },
      ],
    });
  }
}
