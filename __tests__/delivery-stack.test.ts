/** `delivery:` in the config and the delivery-<env> stack it synthesizes (properties; behaviour is in delivery.behaviour.test.ts). */
import { Testing } from "cdktf";
import { DEFAULT_MINIMUM_GITLAB_VERSION, deliveryNames, issuerWritersWithDelivery } from "../lib/config/delivery";
import { environmentStackIds } from "../lib/delivery/scope";
import { createEnvironmentStacks } from "../lib/environment-stacks";
import { NAMESPACE_CREATORS_GROUP, PLAN_READERS_GROUP } from "../lib/kubernetes/pipeline-rbac";
import { deliveryDeployRoleArn } from "../stacks/delivery-stack";
import { defaultStatePrefix } from "../stacks/environment-stack";
import { configErrorOf, ENVIRONMENTS, environmentFromYaml, resourcesOfType, shippedEnvironment, shippedStacks, stackIdsOf, synthesizedStacks } from "./helpers";

const EKS_S3 = `
aws: { accountId: "333333333333", region: eu-west-1 }
cluster: { type: eks, name: test-eks, issuerUrl: "https://oidc.eks.eu-west-1.amazonaws.com/id/TEST" }
backend: { type: s3, bucket: test-tfstate, region: eu-west-1 }
workloads:
  - namespace: apps
    serviceAccount: writer
    aws: { mode: pod-identity }
`;
const SELF_MANAGED = `
aws: { accountId: "111111111111", region: ap-northeast-1 }
cluster: { type: self-managed, name: test-kops, issuer: { bucketName: test-oidc-issuer }, serviceAccountKeyFiles: [keys/dev/sa-signer-pkcs8.pub] }
backend: { type: s3, bucket: test-tfstate, region: ap-northeast-1 }
`;
/** The delivery project of an environment with gcp: (appended after DELIVERY). */
const DELIVERY_GCP = `  gcp: { projectId: test-delivery, projectNumber: "456" }\n`;
const DELIVERY = `
delivery:
  gitlab:
    url: https://gitlab.example.com
    projectPath: ops/cluster-identity
    projectId: "4242"
    deployBranches: [main, production]
`;

describe("delivery: in the config", () => {
  it("resolves names from the environment, the state location from the s3 backend", () => {
    const environment = environmentFromYaml(EKS_S3 + DELIVERY);
    expect(environment.delivery).toEqual({
      gitlab: {
        url: "https://gitlab.example.com",
        hostPath: "gitlab.example.com",
        projectPath: "ops/cluster-identity",
        projectId: "4242",
        deployBranches: ["main", "production"],
        minimumVersion: DEFAULT_MINIMUM_GITLAB_VERSION,
      },
      awsAudience: "sts.amazonaws.com",
      planRoleName: "cluster-identity-test-plan",
      deployRoleName: "cluster-identity-test-deploy",
      planIdentityPoolName: "cluster-identity-test-plan",
      deployIdentityPoolName: "cluster-identity-test-deploy",
      boundaryPolicyName: "cluster-identity-test-workload-boundary",
      deployClustersPolicyName: "cluster-identity-test-deploy-clusters",
      deployGuardrailsPolicyName: "cluster-identity-test-deploy-guardrails",
      state: { bucket: "test-tfstate", region: "eu-west-1", keyPrefix: defaultStatePrefix("test") },
    });
    expect(environmentFromYaml(EKS_S3).delivery).toBeUndefined();
  });

  it("refuses a project path with a wildcard, a branch with one, and duplicate branches", () => {
    expect(configErrorOf(EKS_S3 + DELIVERY.replace("ops/cluster-identity", "ops/*"))).toBe(
      'config/test.yaml:13:18: delivery.gitlab.projectPath = "ops/*": must be a GitLab project path such as platform/cluster-identity (group[/subgroup]/project, no wildcards)',
    );
    expect(configErrorOf(EKS_S3 + DELIVERY.replace("[main, production]", "[main, 'release/*']"))).toBe(
      'config/test.yaml:15:28: delivery.gitlab.deployBranches[1] = "release/*": must be a branch name without wildcards, \':\' or whitespace',
    );
    expect(configErrorOf(EKS_S3 + DELIVERY.replace("[main, production]", "[main, main]"))).toBe(
      'config/test.yaml:15:21: delivery.gitlab.deployBranches = ["main","main"]: deploy branches must be unique',
    );
    expect(configErrorOf(EKS_S3 + DELIVERY.replace("https://gitlab.example.com", "https://gitlab.example.com/"))).toBe(
      'config/test.yaml:12:10: delivery.gitlab.url = "https://gitlab.example.com/": an OIDC issuer URL must be https://<host>[/<path>] with no query, fragment or trailing slash',
    );
  });

  it("needs the s3 backend, without a backend role, and no provider assume-role", () => {
    expect(configErrorOf(EKS_S3.replace("{ type: s3, bucket: test-tfstate, region: eu-west-1 }", "{ type: local }") + DELIVERY)).toBe(
      'config/test.yaml:4:18: backend.type = "local": delivery: needs the s3 backend — the pipeline\'s roles are granted exactly the environment\'s state objects and lock files in it (a pipeline cannot keep local state; gcs state is not supported by delivery)',
    );
    expect(configErrorOf(EKS_S3.replace('region: eu-west-1 }\ncluster', 'region: eu-west-1, assumeRoleArn: "arn:aws:iam::333333333333:role/deployer" }\ncluster') + DELIVERY)).toBe(
      'config/test.yaml:2:69: aws.assumeRoleArn = "arn:aws:iam::333333333333:role/deployer": with delivery: the pipeline deploys with its own roles (plan/deploy, fenced by a permissions boundary); a provider that assumes another role would bypass that fence — remove aws.assumeRoleArn',
    );
  });

  it("checks that an existing GitLab provider is the GitLab URL's, in this account", () => {
    const withProvider = (arn: string) => `${EKS_S3}${DELIVERY}    oidcProvider: { use: "${arn}" }\n`;
    expect(configErrorOf(withProvider("arn:aws:iam::333333333333:oidc-provider/gitlab.com"))).toBe(
      'config/test.yaml:16:26: delivery.gitlab.oidcProvider.use = "arn:aws:iam::333333333333:oidc-provider/gitlab.com": the provider is for issuer gitlab.com, but delivery.gitlab.url is https://gitlab.example.com',
    );
    expect(configErrorOf(withProvider("arn:aws:iam::444444444444:oidc-provider/gitlab.example.com"))).toBe(
      'config/test.yaml:16:26: delivery.gitlab.oidcProvider.use = "arn:aws:iam::444444444444:oidc-provider/gitlab.example.com": the provider is in account 444444444444, but this environment deploys to account 333333333333',
    );
  });

  it("refuses a deploy branch whose token subject Google cannot hold (127 characters)", () => {
    const gcp = `gcp: { projectId: test-project, projectNumber: "123" }\n`;
    expect(configErrorOf(EKS_S3 + gcp + DELIVERY.replace("production", "x".repeat(90)) + DELIVERY_GCP)).toMatch(
      /^config\/test\.yaml:16:28: delivery\.gitlab\.deployBranches\[1\] = "x{90}": the pipeline's token subject "project_path:ops\/cluster-identity:ref_type:branch:ref:x{90}" is 144 characters; Google accepts at most 127 \(shorten the branch or project path\)$/,
    );
  });

  it("needs the project's numeric id: the clouds trust it, not the path", () => {
    expect(configErrorOf(EKS_S3 + DELIVERY.replace('    projectId: "4242"\n', ""))).toBe("config/test.yaml:12:5: delivery.gitlab.projectId = (missing): required");
    expect(configErrorOf(EKS_S3 + DELIVERY.replace('"4242"', '"ops/cluster-identity"'))).toBe(
      'config/test.yaml:14:16: delivery.gitlab.projectId = "ops/cluster-identity": must be the GitLab project\'s numeric id (Settings > General > Project ID), as a quoted string',
    );
    expect(configErrorOf(EKS_S3 + DELIVERY.replace('"4242"', '"0042"'))).toMatch(/^config\/test\.yaml:14:16: delivery\.gitlab\.projectId = "0042": must be/);
  });

  it("takes the oldest GitLab the deploy job runs on, 18.2.2 unless told otherwise", () => {
    expect(environmentFromYaml(EKS_S3 + DELIVERY).delivery!.gitlab.minimumVersion).toBe("18.2.2");
    expect(environmentFromYaml(`${EKS_S3}${DELIVERY}    minimumVersion: "18.1.4"\n`).delivery!.gitlab.minimumVersion).toBe("18.1.4");
    expect(configErrorOf(`${EKS_S3}${DELIVERY}    minimumVersion: "18.2"\n`)).toBe(
      'config/test.yaml:16:21: delivery.gitlab.minimumVersion = "18.2": must be a GitLab version major.minor.patch, such as 18.2.2',
    );
  });

  it("puts the Google identities in a project of their own, which the environment's gcp: must name", () => {
    const gcp = `gcp: { projectId: test-project, projectNumber: "123" }\n`;
    expect(configErrorOf(EKS_S3 + gcp + DELIVERY)).toBe(
      "config/test.yaml:12:3: delivery.gcp = (missing): the environment has gcp:, so the pipeline needs Google identities: name the Google project they live in (delivery.gcp.projectId and projectNumber), one the deploy service account does not administer",
    );
    expect(configErrorOf(EKS_S3 + gcp + DELIVERY + DELIVERY_GCP.replace("test-delivery", "test-project"))).toBe(
      'config/test.yaml:17:21: delivery.gcp.projectId = "test-project": the delivery identities must live in another project than gcp.projectId: the deploy service account administers pools and service accounts there, and could rewrite its own trust',
    );
    expect(configErrorOf(EKS_S3 + DELIVERY + DELIVERY_GCP)).toBe(
      'config/test.yaml:16:8: delivery.gcp = "test-delivery": the environment has no gcp: section, so its pipeline has no Google identities; remove delivery.gcp',
    );
    const google = environmentFromYaml(EKS_S3 + gcp + DELIVERY + DELIVERY_GCP).delivery!.google;
    expect(google).toEqual(expect.objectContaining({ projectId: "test-delivery", projectNumber: "456", poolId: "delivery-test" }));
  });

  it("derives Google ids that fit Google's rules for the longest environment name", () => {
    const names = deliveryNames("a".repeat(16));
    expect(names.planServiceAccountId.length).toBeLessThanOrEqual(30);
    expect(names.deployServiceAccountId.length).toBeLessThanOrEqual(30);
    expect(names.poolId.length).toBeLessThanOrEqual(32);
  });
});

describe("delivery-<env>", () => {
  const stacks = shippedStacks();
  const delivery = stacks["delivery-prod"];

  it("names the state of exactly the stacks the app creates for each environment (the scope's stack ids)", () => {
    for (const name of ENVIRONMENTS) {
      const environment = shippedEnvironment(name);
      expect([name, [...environmentStackIds(environment)].sort()]).toEqual([name, stackIdsOf(environment)]);
    }
    const bare = environmentFromYaml(EKS_S3 + DELIVERY);
    expect([...environmentStackIds(bare)].sort()).toEqual(stackIdsOf(bare));
  });

  it("exists only for environments with delivery:, and carries the contract's outputs", () => {
    expect(Object.keys(stacks).filter((id) => id.startsWith("delivery-"))).toEqual(["delivery-prod", "delivery-staging"]);
    expect(Object.keys(delivery.output!)).toEqual(
      expect.arrayContaining([
        "plan_role_arn",
        "deploy_role_arn",
        "plan_identity_pool_id",
        "deploy_identity_pool_id",
        "permissions_boundary_arn",
        "gcp_workload_identity_provider",
        "gcp_plan_service_account",
        "gcp_deploy_service_account",
      ]),
    );
  });

  it("has no Google side without gcp:", () => {
    const synthesized = synthesizedStacks(environmentFromYaml(EKS_S3 + DELIVERY))["delivery-test"];
    expect(Object.keys(synthesized.provider!)).toEqual(["aws"]);
    expect(Object.keys(synthesized.output!).filter((output) => output.startsWith("gcp_"))).toEqual([]);
    expect(Object.keys(synthesized.resource!).filter((type) => type.startsWith("google_"))).toEqual([]);
  });

  it("gives the pipeline namespaced cluster access, never cluster-wide; the deploy role may create the catalog's namespaces", () => {
    const associations = resourcesOfType(delivery, "aws_eks_access_policy_association");
    expect(associations.map((a) => [a.policy_arn, a.access_scope])).toEqual([
      ["arn:aws:eks::aws:cluster-access-policy/AmazonEKSEditPolicy", { type: "namespace", namespaces: ["default", "gitlab"] }],
      ["arn:aws:eks::aws:cluster-access-policy/AmazonEKSViewPolicy", { type: "namespace", namespaces: ["default", "gitlab"] }],
    ]);
    // prod creates the gitlab namespace (gitlab.createNamespace): the group an administrator binds to namespace creation.
    expect(delivery.resource!.aws_eks_access_entry["deploy-access-entry"].kubernetes_groups).toEqual([NAMESPACE_CREATORS_GROUP]);
    // The plan role reads exactly the Secrets k8s-identities writes, through RBAC an administrator applies (output).
    expect(delivery.resource!.aws_eks_access_entry["plan-access-entry"].kubernetes_groups).toEqual([PLAN_READERS_GROUP]);
    expect(delivery.output!.pipeline_rbac.value).toContain("name: cluster-identity-plan-reader");
    const synthesized = synthesizedStacks(environmentFromYaml(EKS_S3 + DELIVERY))["delivery-test"];
    expect(synthesized.resource!.aws_eks_access_entry["deploy-access-entry"].kubernetes_groups).toBeUndefined();
  });

  it("gives it access on every EKS cluster, each scoped to the namespaces written there (staging: blue and green)", () => {
    const staging = stacks["delivery-staging"];
    const entries = staging.resource!.aws_eks_access_entry as Record<string, Record<string, unknown>>;
    expect(Object.keys(entries).sort()).toEqual(["deploy-access-entry", "deploy-access-entry-staging-green", "plan-access-entry", "plan-access-entry-staging-green"]);
    expect(entries["deploy-access-entry"].cluster_name).toBe("staging-blue");
    expect(entries["deploy-access-entry-staging-green"].cluster_name).toBe("staging-green");
    // Both create team payments' namespace (config/staging/payments.yaml); bq-reader runs on green only, in a
    // namespace the catalog creates there: analytics is in green's scope only.
    expect(entries["deploy-access-entry"].kubernetes_groups).toEqual([NAMESPACE_CREATORS_GROUP]);
    expect(entries["deploy-access-entry-staging-green"].kubernetes_groups).toEqual([NAMESPACE_CREATORS_GROUP]);
    const associations = staging.resource!.aws_eks_access_policy_association as Record<string, { access_scope: unknown; cluster_name: string }>;
    expect(associations["deploy-access-policy"].access_scope).toEqual({ type: "namespace", namespaces: ["payments", "reporting"] });
    expect(associations["deploy-access-policy-staging-green"].access_scope).toEqual({ type: "namespace", namespaces: ["analytics", "payments", "reporting"] });
    expect(associations["plan-access-policy-staging-green"].access_scope).toEqual({ type: "namespace", namespaces: ["analytics", "payments", "reporting"] });
  });

  it("lets GitLab id_tokens into its roles only through one identity pool per role, claims mapped to session tags", () => {
    const pools = delivery.resource!.aws_cognito_identity_pool as Record<string, Record<string, unknown>>;
    expect(Object.keys(pools).sort()).toEqual(["deploy-identity-pool", "plan-identity-pool"]);
    for (const pool of Object.values(pools))
      expect(pool).toMatchObject({
        allow_unauthenticated_identities: false,
        allow_classic_flow: false,
        openid_connect_provider_arns: ["${aws_iam_openid_connect_provider.gitlab-provider.arn}"],
      });
    const tags = delivery.resource!.aws_cognito_identity_pool_provider_principal_tag as Record<string, Record<string, unknown>>;
    expect(tags["plan-identity-pool-tags"]).toMatchObject({ identity_provider_name: "gitlab.com", use_defaults: false, principal_tags: { project_id: "project_id", ref_type: "ref_type" } });
    expect(tags["deploy-identity-pool-tags"].principal_tags).toEqual({ project_id: "project_id", ref: "ref", ref_protected: "ref_protected", ref_type: "ref_type" });
    const roles = delivery.resource!.aws_cognito_identity_pool_roles_attachment as Record<string, { roles: unknown }>;
    expect(roles["plan-identity-pool-roles"].roles).toEqual({ authenticated: "${aws_iam_role.plan-role.arn}" });
    expect(roles["deploy-identity-pool-roles"].roles).toEqual({ authenticated: "${aws_iam_role.deploy-role.arn}" });
  });

  it("attaches the deploy role's cluster permissions and guardrails as managed policies it may not change", () => {
    const attachments = resourcesOfType(delivery, "aws_iam_role_policy_attachment").map((attachment) => [attachment.role, attachment.policy_arn]);
    expect(attachments).toEqual([
      ["${aws_iam_role.deploy-role.name}", "${aws_iam_policy.deploy-clusters-policy.arn}"],
      ["${aws_iam_role.deploy-role.name}", "${aws_iam_policy.deploy-guardrails-policy.arn}"],
    ]);
    const guardrails = JSON.parse(delivery.resource!.aws_iam_policy["deploy-guardrails-policy"].policy as string) as { Statement: { Effect: string; Sid: string; Resource?: string[] }[] };
    expect(guardrails.Statement.every((statement) => statement.Effect === "Deny")).toBe(true);
    expect(guardrails.Statement.find((statement) => statement.Sid === "DenyDeliveryChanges")!.Resource).toEqual(
      expect.arrayContaining(["arn:aws:iam::222222222222:policy/cluster-identity-prod-deploy-clusters", "arn:aws:iam::222222222222:policy/cluster-identity-prod-deploy-guardrails"]),
    );
    // Without an EKS cluster there is no cluster policy.
    const selfManaged = synthesizedStacks(environmentFromYaml(SELF_MANAGED + DELIVERY))["delivery-test"];
    expect(Object.keys(selfManaged.resource!.aws_iam_policy).sort()).toEqual(["deploy-guardrails-policy", "permissions-boundary"]);
  });

  it("maps the deploy role to the aws-auth writers' group when the cluster is still on aws-auth", () => {
    const awsAuth = `clusterAccess:\n  method: aws-auth\n  nodeRoleArns: ["arn:aws:iam::333333333333:role/nodes"]\n  mappings: []\n`;
    const synthesized = synthesizedStacks(environmentFromYaml(EKS_S3 + awsAuth + DELIVERY))["delivery-test"];
    expect(synthesized.resource!.aws_eks_access_entry["deploy-access-entry"].kubernetes_groups).toEqual(["cluster-identity:aws-auth-writers"]);
  });

  it("uses an existing GitLab provider without managing it, or imports it at the address a created one has", () => {
    const arn = "arn:aws:iam::333333333333:oidc-provider/gitlab.example.com";
    const used = synthesizedStacks(environmentFromYaml(`${EKS_S3}${DELIVERY}    oidcProvider: { use: "${arn}" }\n`))["delivery-test"];
    expect(resourcesOfType(used, "aws_iam_openid_connect_provider")).toEqual([]);
    expect(resourcesOfType(used, "aws_cognito_identity_pool").map((pool) => pool.openid_connect_provider_arns)).toEqual([[arn], [arn]]);
    const imported = synthesizedStacks(environmentFromYaml(`${EKS_S3}${DELIVERY}    oidcProvider: { import: "${arn}" }\n`))["delivery-test"];
    expect(Object.keys(imported.resource!.aws_iam_openid_connect_provider)).toEqual(["gitlab-provider"]);
    expect(JSON.stringify(imported)).toContain(arn);
  });

  it("keeps each role's inline policy within IAM's 10,240-character limit", () => {
    for (const policy of resourcesOfType(delivery, "aws_iam_role_policy")) expect((policy.policy as string).length).toBeLessThan(10_240);
  });

  it("refuses, before synthesis, a catalog whose names would not fit the deploy role's policy", () => {
    const many = Array.from({ length: 120 }, (_, i) => `  - namespace: apps\n    serviceAccount: writer-${i}\n    aws: { mode: irsa }\n`).join("");
    const environment = environmentFromYaml(EKS_S3 + many + DELIVERY);
    expect(() => createEnvironmentStacks(Testing.app(), environment)).toThrow(
      /^config\/test\.yaml: delivery: the (plan|deploy) role's policy is \d+ characters, IAM allows 10240; the catalog names too many buckets, roles and access entries for one environment's pipeline identity — split the environment$/,
    );
  });

  it("lets the deploy role write exactly the issuer's two documents of a self-managed cluster", () => {
    const synthesized = synthesizedStacks(environmentFromYaml(SELF_MANAGED + DELIVERY))["delivery-test"];
    const policy = JSON.parse(synthesized.resource!.aws_iam_role_policy["deploy-policy"].policy as string) as { Statement: { Sid: string; Resource: unknown }[] };
    expect(policy.Statement.find((s) => s.Sid === "ManageIssuerDocuments")?.Resource).toEqual([
      "arn:aws:s3:::test-oidc-issuer/.well-known/openid-configuration",
      "arn:aws:s3:::test-oidc-issuer/keys.json",
    ]);
    expect(policy.Statement.find((s) => s.Sid === "ManageStackBuckets")?.Resource).toEqual(["arn:aws:s3:::test-oidc-issuer"]);
    expect(resourcesOfType(synthesized, "aws_eks_access_entry")).toEqual([]);
  });

  describe("with a self-managed cluster, the issuer's documents are written by the pipeline's deploy role", () => {
    const selfManaged = (writers = "") => `
aws: { accountId: "111111111111", region: ap-northeast-1 }
cluster:
  type: self-managed
  name: test-kops
  issuer:
    bucketName: test-oidc-issuer
${writers}  serviceAccountKeyFiles: [keys/dev/sa-signer-pkcs8.pub]
backend: { type: s3, bucket: test-tfstate, region: ap-northeast-1 }
`;
    const DEPLOY_ROLE = "arn:aws:iam::111111111111:role/cluster-identity-test-deploy";

    it("by default: the deploy role, not the principal read at plan time (in the pipeline, the plan role)", () => {
      const environment = environmentFromYaml(selfManaged() + DELIVERY);
      expect(environment.cluster.type === "self-managed" && environment.cluster.issuerWriterArns).toEqual([DEPLOY_ROLE]);
      expect(deliveryDeployRoleArn(environment)).toBe(DEPLOY_ROLE);
      const oidc = synthesizedStacks(environment)["oidc-test"];
      expect(oidc.data?.aws_caller_identity).toBeUndefined();
      const policy = JSON.parse(Object.values(oidc.resource!.aws_s3_bucket_policy)[0].policy as string) as { Statement: { Effect: string; Condition?: Record<string, Record<string, unknown>> }[] };
      const deny = policy.Statement.filter((statement) => statement.Effect === "Deny" && statement.Condition?.ArnNotEquals);
      expect(deny.map((statement) => statement.Condition!.ArnNotEquals["aws:PrincipalArn"])).toEqual([[DEPLOY_ROLE]]);
      // Without delivery: the deploying principal, read at plan time.
      expect(synthesizedStacks(environmentFromYaml(selfManaged()))["oidc-test"].data?.aws_caller_identity).toBeDefined();
    });

    it("reconciles each entry of a cluster list on its own, leaving EKS clusters alone (issuerWritersWithDelivery)", () => {
      const clusters = [
        { type: "eks", name: "blue" },
        { type: "self-managed", name: "kops", issuerWriterArns: [] },
        { type: "self-managed", name: "kops-2", issuerWriterArns: ["arn:aws:iam::111111111111:role/admin"] },
      ];
      const listed = new Set([2]);
      const { clusters: reconciled, issues } = issuerWritersWithDelivery(clusters, "test", DEPLOY_ROLE, (index) => listed.has(index), (index) => `clusters[${index}]`);
      expect(reconciled).toEqual([clusters[0], { ...clusters[1], issuerWriterArns: [DEPLOY_ROLE] }, clusters[2]]);
      expect(issues).toEqual([expect.objectContaining({ field: "clusters[2].issuer.writers", value: ["arn:aws:iam::111111111111:role/admin"] })]);
    });

    it("refuses explicit writers that leave the deploy role out, and keeps them when they list it", () => {
      const other = "arn:aws:iam::111111111111:role/platform-admin";
      expect(configErrorOf(selfManaged(`    writers: ["${other}"]\n`) + DELIVERY)).toBe(
        `config/test.yaml:8:14: cluster.issuer.writers = ["${other}"]: with delivery: the pipeline's deploy role (${DEPLOY_ROLE}) applies oidc-test; list it too, or the bucket policy denies the pipeline its own writes of the issuer documents`,
      );
      const listed = environmentFromYaml(selfManaged(`    writers: ["${other}", "${DEPLOY_ROLE}"]\n`) + DELIVERY);
      expect(listed.cluster.type === "self-managed" && listed.cluster.issuerWriterArns).toEqual([other, DEPLOY_ROLE]);
    });
  });

  it("exposes the deploy role's ARN by name for wiring that must not wait for a reference", () => {
    const environment = shippedEnvironment("prod");
    const { delivery: stack } = createEnvironmentStacks(Testing.app(), environment);
    expect(stack!.deployRoleArnByName).toBe("arn:aws:iam::222222222222:role/cluster-identity-prod-deploy");
    expect(deliveryDeployRoleArn(environment)).toBe(stack!.deployRoleArnByName);
    expect(deliveryDeployRoleArn(shippedEnvironment("dev"))).toBeUndefined();
  });
});

describe("delivery with GitLab on the account's AWS-managed S3 key", () => {
  it("lets both roles describe keys (data.aws_kms_key reads aws/s3 by alias), and nothing more on them", () => {
    const gitlab = "gitlab: { bucketPrefix: test-gitlab, kmsKey: aws-managed }\n";
    const synthesized = synthesizedStacks(environmentFromYaml(EKS_S3 + gitlab + DELIVERY))["delivery-test"];
    for (const id of ["plan-policy", "deploy-policy"]) {
      const policy = JSON.parse(synthesized.resource!.aws_iam_role_policy[id].policy as string) as { Statement: { Sid: string; Action: unknown; Resource: unknown }[] };
      expect([id, policy.Statement.find((statement) => statement.Sid === "DescribeAwsManagedKey")]).toEqual([
        id,
        expect.objectContaining({ Action: "kms:DescribeKey", Resource: "arn:aws:kms:eu-west-1:333333333333:key/*" }),
      ]);
    }
    const prod = shippedStacks()["delivery-prod"].resource!.aws_iam_role_policy["deploy-policy"].policy as string;
    expect(prod).not.toContain("DescribeAwsManagedKey");
  });
});
