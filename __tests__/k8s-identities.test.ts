/** k8s-identities-<env>: ServiceAccounts, credential Secrets, GitLab Secrets, cluster access. */
import { awsAuthData, keepsNodeRolesCondition } from "../lib/kubernetes/aws-auth";
import { externalAccountCredentials } from "../lib/kubernetes/credential-config";
import { podSpecSnippet } from "../lib/kubernetes/pod-spec";
import { gitlabConnectionSecret, gitlabRegistryStorageSecret } from "../lib/gitlab/secrets";
import { configErrorOf, ENVIRONMENTS, environmentFromYaml, resourcesOfType, shippedEnvironment, synthesizedStacks, SynthesizedStack, shippedStacks, stackIdsOf } from "./helpers";

const stacks = shippedStacks();

type Metadata = { name: string; namespace: string; annotations?: Record<string, string>; labels?: Record<string, string> };
const serviceAccounts = (stack: SynthesizedStack) => resourcesOfType(stack, "kubernetes_service_account_v1");
const metadataOf = (resource: Record<string, unknown>) => resource.metadata as Metadata;

describe("pure helpers", () => {
  it("builds the external_account credential configuration", () => {
    expect(externalAccountCredentials({ audience: "//iam.googleapis.com/projects/1/locations/global/workloadIdentityPools/p/providers/o", serviceAccountEmail: "a@p.iam.gserviceaccount.com", tokenPath: "/t/token" })).toEqual({
      type: "external_account",
      audience: "//iam.googleapis.com/projects/1/locations/global/workloadIdentityPools/p/providers/o",
      subject_token_type: "urn:ietf:params:oauth:token-type:jwt",
      token_url: "https://sts.googleapis.com/v1/token",
      service_account_impersonation_url: "https://iamcredentials.googleapis.com/v1/projects/-/serviceAccounts/a@p.iam.gserviceaccount.com:generateAccessToken",
      credential_source: { file: "/t/token", format: { type: "text" } },
    });
  });

  it("renders the pod spec with the projected token for projected-token workloads only", () => {
    const projected = podSpecSnippet({ serviceAccount: "bq", credentialsSecretName: "bq-gcp", token: "projected-token", tokenPath: "/var/run/secrets/tokens/gcp-ksa/token", tokenAudience: "//iam.googleapis.com/x" });
    expect(projected).toContain("- serviceAccountToken:\n              audience: //iam.googleapis.com/x\n              expirationSeconds: 3600\n              path: token");
    expect(projected).toContain("mountPath: /var/run/secrets/tokens/gcp-ksa");
    expect(projected).toContain("- name: GOOGLE_APPLICATION_CREDENTIALS\n          value: /etc/gcp/key.json");
    const irsa = podSpecSnippet({ serviceAccount: "a", credentialsSecretName: "s", token: "irsa-token", tokenPath: "/var/run/secrets/eks.amazonaws.com/serviceaccount/token", tokenAudience: "sts.amazonaws.com" });
    expect(irsa).not.toContain("serviceAccountToken");
  });

  it("writes aws-auth with the node roles first", () => {
    const data = awsAuthData(["arn:aws:iam::1:role/nodes"], [{ arn: "arn:aws:iam::1:role/admins", kind: "role", username: "admin", groups: ["platform"], accessPolicies: [] }, { arn: "arn:aws:iam::1:user/ci", kind: "user", username: "ci", groups: ["deployers"], accessPolicies: [] }]);
    expect(data.mapRoles).toBe(
      "- rolearn: arn:aws:iam::1:role/nodes\n  username: system:node:{{EC2PrivateDNSName}}\n  groups:\n    - system:bootstrappers\n    - system:nodes\n- rolearn: arn:aws:iam::1:role/admins\n  username: admin\n  groups:\n    - platform\n",
    );
    expect(data.mapUsers).toBe("- userarn: arn:aws:iam::1:user/ci\n  username: ci\n  groups:\n    - deployers\n");
    expect(keepsNodeRolesCondition("data.kubernetes_config_map_v1.current", ["arn:aws:iam::1:role/nodes"])).toBe(
      '${alltrue([for entry in try(yamldecode(data.kubernetes_config_map_v1.current.data.mapRoles), []) : contains(["arn:aws:iam::1:role/nodes"], entry.rolearn) if contains(try(entry.groups, []), "system:nodes")])}',
    );
  });

  it("writes GitLab's Secrets without keys", () => {
    expect(gitlabConnectionSecret("ap-northeast-1")).toBe("provider: AWS\nregion: ap-northeast-1\nuse_iam_profile: true\n");
    expect(gitlabRegistryStorageSecret("r", "ap-northeast-1")).toBe("s3:\n  bucket: r\n  region: ap-northeast-1\n  v4auth: true\n");
  });
});

describe.each(ENVIRONMENTS)("k8s-identities-%s", (environmentName) => {
  const stack = stacks[`k8s-identities-${environmentName}`];
  const environment = shippedEnvironment(environmentName);
  /** A workload's stacks: the environment's, or its team's (`<component>-<env>-<team>`). */
  const stackIdOf = (component: string, workload: { team?: string }) => `${component}-${environmentName}${workload.team ? `-${workload.team}` : ""}`;
  /** The ServiceAccounts of the environment's k8s-identities stack and its teams'. */
  const allServiceAccounts = () =>
    stackIdsOf(environment)
      .filter((id) => id.startsWith(`k8s-identities-${environmentName}`))
      .flatMap((id) => serviceAccounts(stacks[id]));

  it("has a ServiceAccount for every catalog workload and GitLab, in an explicit namespace, automount explicit", () => {
    const gitlab = environment.catalog.gitlab;
    // One ServiceAccount per cluster the workload runs on (GitLab runs on every cluster).
    const expected = [
      ...environment.catalog.workloads.flatMap((w) => w.clusters.map(() => w.id)),
      ...(gitlab ? environment.clusters.map(() => `${gitlab.namespace}/${gitlab.serviceAccount}`) : []),
    ].sort();
    const clusterSuffixes = environment.clusters.map((cluster) => cluster.idSuffix).filter(Boolean);
    const automount = new Map([
      ...environment.catalog.workloads.map((w) => [w.serviceAccount, w.automountServiceAccountToken] as const),
      ...(gitlab ? [[gitlab.serviceAccount, gitlab.automountServiceAccountToken] as const] : []),
    ]);
    const names = allServiceAccounts().map((sa) => {
      const metadata = metadataOf(sa);
      const namespace = metadata.namespace
        .replace(/^\$\{kubernetes_namespace_v1\.namespace-([a-z0-9-]+)\.metadata\[0\]\.name\}$/, "$1")
        .replace(new RegExp(`(${clusterSuffixes.join("|") || "^$"})$`), "");
      return `${namespace}/${metadata.name}`;
    });
    expect(names.sort()).toEqual(expected);
    for (const sa of allServiceAccounts()) {
      expect(metadataOf(sa).namespace).toBeTruthy();
      expect(sa.automount_service_account_token).toBe(automount.get(metadataOf(sa).name));
      expect(metadataOf(sa).labels).toEqual({ "app.kubernetes.io/managed-by": "cluster-identity" });
    }
  });

  it("annotates IRSA ServiceAccounts with their own role, by cross-stack reference", () => {
    for (const workload of environment.catalog.workloads) {
      const sa = serviceAccounts(stacks[stackIdOf("k8s-identities", workload)]).find((s) => metadataOf(s).name === workload.serviceAccount)!;
      const annotation = metadataOf(sa).annotations?.["eks.amazonaws.com/role-arn"];
      if (workload.aws?.mode !== "irsa") {
        expect(annotation).toBeUndefined();
        continue;
      }
      const roleId = workload.id.replace("/", "-");
      // A team's ServiceAccount is annotated with the team's role (aws-workloads-<env>-<team>).
      expect(annotation).toMatch(
        new RegExp(`^\\$\\{data\\.terraform_remote_state\\.cross-stack-reference-input-${stackIdOf("aws-workloads", workload)}\\.outputs\\.cross-stack-output-aws_iam_rolerole-${roleId}_role_[0-9A-F]{8}arn\\}$`),
      );
    }
  });

  it("stores each GCP workload's credential configuration, referring to its service account across stacks", () => {
    for (const workload of environment.catalog.workloads.filter((w) => w.gcp)) {
      const secret = resourcesOfType(stacks[stackIdOf("k8s-identities", workload)], "kubernetes_secret_v1").find((s) => metadataOf(s).name === workload.gcp!.credentialsSecretName)!;
      const config = JSON.parse((secret.data as Record<string, string>)["key.json"]);
      // The service account of the workload's gcp-wif stack (a team's own), the provider of the environment's.
      expect(config.service_account_impersonation_url).toMatch(
        new RegExp(`^https://iamcredentials\\.googleapis\\.com/v1/projects/-/serviceAccounts/\\$\\{data\\.terraform_remote_state\\.cross-stack-reference-input-${stackIdOf("gcp-wif", workload)}\\.outputs\\.[^}]+email\\}:generateAccessToken$`),
      );
      expect(config.credential_source.file).toBe(workload.gcp!.tokenPath);
      expect(config.audience).toMatch(
        new RegExp(`^//iam\\.googleapis\\.com/\\$\\{data\\.terraform_remote_state\\.cross-stack-reference-input-gcp-wif-${environmentName}\\.outputs\\.[^}]+name\\}$`),
      );
    }
  });

  it(environment.catalog.gitlab ? "gives GitLab its connection and registry Secrets" : "has no GitLab Secrets without gitlab:", () => {
    const secrets = resourcesOfType(stack, "kubernetes_secret_v1").map((s) => metadataOf(s).name);
    if (environment.catalog.gitlab) expect(secrets).toEqual(expect.arrayContaining(["gitlab-object-storage", "gitlab-registry-storage"]));
    else expect(secrets.filter((name) => /^gitlab-/.test(String(name)))).toEqual([]);
  });

  it("protects the namespaces it creates", () => {
    for (const namespace of resourcesOfType(stack, "kubernetes_namespace_v1")) expect(namespace.lifecycle).toEqual({ prevent_destroy: true });
  });
});

describe("GitLab's ServiceAccount", () => {
  it("carries the IRSA role on a self-managed cluster and no annotation with Pod Identity", () => {
    const dev = serviceAccounts(stacks["k8s-identities-dev"]).find((s) => metadataOf(s).name === "gitlab-global")!;
    expect(metadataOf(dev).annotations?.["eks.amazonaws.com/role-arn"]).toMatch(/^\$\{data\.terraform_remote_state\.cross-stack-reference-input-gitlab-storage-dev\.outputs\.cross-stack-output-aws_iam_rolerole_[0-9A-F]{8}arn\}$/);
    const prod = serviceAccounts(stacks["k8s-identities-prod"]).find((s) => metadataOf(s).name === "gitlab-global")!;
    expect(metadataOf(prod).annotations).toEqual({});
  });
});

describe("kubernetes provider", () => {
  it("uses the kubeconfig context on a self-managed cluster", () => {
    expect(stacks["k8s-identities-dev"].provider?.kubernetes).toEqual([{ config_path: "~/.kube/config", config_context: "dev-kops.k8s.local" }]);
  });

  it("uses aws eks get-token on EKS, endpoint and CA from the EKS API", () => {
    expect(stacks["k8s-identities-prod"].provider?.kubernetes).toEqual([
      {
        host: "${data.aws_eks_cluster.cluster.endpoint}",
        cluster_ca_certificate: "${base64decode(data.aws_eks_cluster.cluster.certificate_authority[0].data)}",
        exec: [{ api_version: "client.authentication.k8s.io/v1beta1", command: "aws", args: ["eks", "get-token", "--cluster-name", "gitlab-cluster", "--region", "ap-northeast-1"] }],
      },
    ]);
  });
});

describe("cluster access", () => {
  const EKS = `
aws: { accountId: "222222222222", region: ap-northeast-1 }
cluster: { type: eks, name: prod, issuerUrl: "https://oidc.eks.ap-northeast-1.amazonaws.com/id/ABC" }
`;
  const errorOf = (yaml: string) => configErrorOf(yaml);

  it("creates EKS access entries and policy associations in aws-workloads-prod", () => {
    const stack = stacks["aws-workloads-prod"];
    const byFirst = (a: unknown[], b: unknown[]) => String(a[0]).localeCompare(String(b[0]));
    expect(resourcesOfType(stack, "aws_eks_access_entry").map((e) => [e.principal_arn, e.kubernetes_groups ?? []]).sort(byFirst)).toEqual([
      ["arn:aws:iam::222222222222:role/developers", ["developers"]],
      ["arn:aws:iam::222222222222:role/platform-admins", []],
    ]);
    expect(resourcesOfType(stack, "aws_eks_access_policy_association").map((a) => [a.policy_arn, a.access_scope]).sort(byFirst)).toEqual([
      ["arn:aws:eks::aws:cluster-access-policy/AmazonEKSClusterAdminPolicy", { type: "cluster" }],
      ["arn:aws:eks::aws:cluster-access-policy/AmazonEKSEditPolicy", { type: "namespace", namespaces: ["default"] }],
      ["arn:aws:eks::aws:cluster-access-policy/AmazonEKSViewPolicy", { type: "cluster" }],
    ]);
    expect(resourcesOfType(stacks["k8s-identities-prod"], "kubernetes_config_map_v1_data")).toHaveLength(0);
  });

  it("manages aws-auth in kube-system, node roles kept and checked against the cluster at plan time", () => {
    const environment = environmentFromYaml(`${EKS}clusterAccess:
  method: aws-auth
  nodeRoleArns: [arn:aws:iam::222222222222:role/eks-nodes]
  mappings:
    - { arn: "arn:aws:iam::222222222222:role/platform-admins", groups: [system:masters] }
`);
    const stack = synthesizedStacks(environment)["k8s-identities-test"];
    const [configMap] = resourcesOfType(stack, "kubernetes_config_map_v1_data");
    expect(configMap.metadata).toEqual({ name: "aws-auth", namespace: "kube-system" });
    expect((configMap.data as Record<string, string>).mapRoles).toMatch(/^- rolearn: arn:aws:iam::222222222222:role\/eks-nodes\n/);
    expect((configMap.lifecycle as { precondition: { condition: string }[] }).precondition[0].condition).toContain("data.kubernetes_config_map_v1.aws-auth-current.data.mapRoles");
    expect(resourcesOfType(synthesizedStacks(environment)["aws-workloads-test"], "aws_eks_access_entry")).toHaveLength(0);
  });

  it("refuses aws-auth without the node role", () => {
    expect(errorOf(`${EKS}clusterAccess: { method: aws-auth, mappings: [] }\n`)).toBe(
      "config/test.yaml:4:16: clusterAccess.nodeRoleArns = (missing): aws-auth mode rewrites mapRoles, which would drop the node role mapping and stop nodes from joining; list the node instance role ARN(s)",
    );
  });

  it("refuses system:masters for a workload role", () => {
    expect(
      errorOf(`${EKS}workloads: [{ namespace: default, serviceAccount: app, aws: { mode: irsa, roleName: app-role } }]
clusterAccess:
  method: aws-auth
  nodeRoleArns: [arn:aws:iam::222222222222:role/eks-nodes]
  mappings: [{ arn: "arn:aws:iam::222222222222:role/app-role", groups: [system:masters] }]
`),
    ).toBe('config/test.yaml:8:73: clusterAccess.mappings[0].groups[0] = "system:masters": role app-role is a workload role of this app; workload roles never get system:masters');
  });

  const adminRule = (role: string) =>
    `role ${role} is a workload role of this app; workload roles never get cluster-admin-class access (AmazonEKSClusterAdminPolicy, AmazonEKSAdminPolicy), cluster-wide or in a namespace: grant AmazonEKSViewPolicy / AmazonEKSEditPolicy in its namespaces, or use a separate role for people`;

  it.each([
    ["AmazonEKSClusterAdminPolicy", "cluster-wide", "{ policy: AmazonEKSClusterAdminPolicy }"],
    ["AmazonEKSAdminPolicy", "cluster-wide", "{ policy: AmazonEKSAdminPolicy }"],
    ["AmazonEKSAdminPolicy", "in a namespace", "{ policy: AmazonEKSAdminPolicy, namespaces: [default] }"],
    ["AmazonEKSClusterAdminPolicy", "in a namespace", "{ policy: AmazonEKSClusterAdminPolicy, namespaces: [default] }"],
  ])("refuses %s (%s) for a workload role", (policy, _scope, association) => {
    expect(
      errorOf(`${EKS}workloads: [{ namespace: default, serviceAccount: app, aws: { mode: pod-identity, roleName: app-role } }]
clusterAccess:
  mappings: [{ arn: "arn:aws:iam::222222222222:role/app-role", accessPolicies: [{ policy: AmazonEKSViewPolicy }, ${association}] }]
`),
    ).toBe(`config/test.yaml:6:124: clusterAccess.mappings[0].accessPolicies[1].policy = "${policy}": ${adminRule("app-role")}`);
  });

  it("refuses cluster admin for GitLab's role too, and allows it for a role the app does not create", () => {
    expect(
      errorOf(`${EKS}gitlab: { bucketPrefix: acme-gitlab }
clusterAccess:
  mappings: [{ arn: "arn:aws:iam::222222222222:role/acme-gitlab-eks-global", accessPolicies: [{ policy: AmazonEKSClusterAdminPolicy }] }]
`),
    ).toBe(`config/test.yaml:6:105: clusterAccess.mappings[0].accessPolicies[0].policy = "AmazonEKSClusterAdminPolicy": ${adminRule("acme-gitlab-eks-global")}`);
    expect(() =>
      environmentFromYaml(`${EKS}workloads: [{ namespace: default, serviceAccount: app, aws: { mode: pod-identity, roleName: app-role } }]
clusterAccess:
  mappings:
    - { arn: "arn:aws:iam::222222222222:role/platform-admins", accessPolicies: [{ policy: AmazonEKSClusterAdminPolicy }] }
    - { arn: "arn:aws:iam::222222222222:role/app-role", accessPolicies: [{ policy: AmazonEKSEditPolicy, namespaces: [default] }] }
`),
    ).not.toThrow();
  });

  it("refuses system: groups in access entries and cluster access on a self-managed cluster", () => {
    expect(errorOf(`${EKS}clusterAccess: { mappings: [{ arn: "arn:aws:iam::222222222222:role/admins", groups: [system:masters] }] }\n`)).toBe(
      'config/test.yaml:4:86: clusterAccess.mappings[0].groups[0] = "system:masters": EKS access entries cannot use system: groups; grant an access policy (e.g. AmazonEKSClusterAdminPolicy) instead',
    );
    expect(
      errorOf(`
aws: { accountId: "111111111111", region: ap-northeast-1 }
cluster: { type: self-managed, name: k, issuer: { bucketName: test-oidc-issuer }, serviceAccountKeyFiles: [keys/dev/sa-signer-pkcs8.pub] }
clusterAccess: { mappings: [] }
`),
    ).toBe(
      'config/test.yaml:4:16: clusterAccess = "access-entries": cluster access entries and the aws-auth ConfigMap are EKS mechanisms; a self-managed cluster maps IAM identities with its own authenticator',
    );
  });

  it("refuses names over the Kubernetes limits", () => {
    const long = "s".repeat(254);
    expect(errorOf(`${EKS}workloads: [{ namespace: default, serviceAccount: ${long} }]\n`)).toContain(
      `config/test.yaml:4:51: workloads[0].serviceAccount = "${long}": a Kubernetes object name must be a DNS-1123 subdomain: at most 253 characters`,
    );
    expect(errorOf(`${EKS}gitlab: { bucketPrefix: acme-gitlab, connectionSecretName: Bad_Name }\n`)).toBe(
      'config/test.yaml:4:60: gitlab.connectionSecretName = "Bad_Name": a Kubernetes object name must be a DNS-1123 subdomain: at most 253 characters of [a-z0-9.-], each dot-separated part starting and ending with [a-z0-9]',
    );
  });
});
