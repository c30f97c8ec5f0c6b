/** Security baseline (SPEC §4) of aws-workloads-<env> and gitlab-storage-<env>, asserted on the synthesized JSON. */
import type { PolicyDocument, PolicyStatement } from "../lib/iam/policy-document";
import { AWS_MANAGED_POLICY_RULE_ID, CONFIG_CHOICE_RULE_IDS } from "../lib/rules/config-choices";
import { environmentFromYaml, resourcesOfType, synthesizedStacks, SynthesizedStack, shippedStacks } from "./helpers";

const stacks = shippedStacks();
const awsStackIds = ["aws-workloads-dev", "aws-workloads-prod", "gitlab-storage-dev", "gitlab-storage-prod"];

/** Resources of `type` attached to the bucket resource `bucketId` (by its `${aws_s3_bucket.<id>.id}` reference). */
function forBucket(stack: SynthesizedStack, type: string, bucketId: string): Record<string, unknown>[] {
  return resourcesOfType(stack, type).filter((resource) => resource.bucket === `\${aws_s3_bucket.${bucketId}.id}`);
}

function identityStatements(stack: SynthesizedStack): PolicyStatement[] {
  const documents = [...resourcesOfType(stack, "aws_iam_role_policy"), ...resourcesOfType(stack, "aws_iam_policy")].map(
    (resource) => JSON.parse(resource.policy as string) as PolicyDocument,
  );
  return documents.flatMap((document) => document.Statement);
}

const asList = (value: string | readonly string[] | undefined): string[] => (value === undefined ? [] : typeof value === "string" ? [value] : [...value]);

describe.each(awsStackIds)("%s", (stackId) => {
  const stack = stacks[stackId];
  const buckets = Object.entries(stack.resource?.aws_s3_bucket ?? {});

  it("has data buckets", () => {
    expect(buckets.length).toBeGreaterThan(0);
  });

  it.each(buckets.map(([id, bucket]) => [bucket.bucket as string, id]))("bucket %s meets the data-bucket baseline", (_name, id) => {
    const bucket = stack.resource!.aws_s3_bucket[id];
    expect(bucket.force_destroy).toBeUndefined();
    expect(bucket.lifecycle).toEqual({ prevent_destroy: true });
    expect(forBucket(stack, "aws_s3_bucket_versioning", id)).toEqual([expect.objectContaining({ versioning_configuration: { status: "Enabled" } })]);
    const [encryption] = forBucket(stack, "aws_s3_bucket_server_side_encryption_configuration", id);
    expect(encryption.rule).toEqual([
      { apply_server_side_encryption_by_default: { sse_algorithm: "aws:kms", kms_master_key_id: expect.stringMatching(/^\$\{(data\.)?aws_kms_key\./) }, bucket_key_enabled: true },
    ]);
    expect(forBucket(stack, "aws_s3_bucket_public_access_block", id)).toEqual([
      expect.objectContaining({ block_public_acls: true, block_public_policy: true, ignore_public_acls: true, restrict_public_buckets: true }),
    ]);
    expect(forBucket(stack, "aws_s3_bucket_ownership_controls", id)).toEqual([expect.objectContaining({ rule: { object_ownership: "BucketOwnerEnforced" } })]);
    const [policy] = forBucket(stack, "aws_s3_bucket_policy", id);
    expect(JSON.parse(policy.policy as string).Statement).toContainEqual(
      expect.objectContaining({ Effect: "Deny", Condition: { Bool: { "aws:SecureTransport": "false" } } }),
    );
    const [lifecycle] = forBucket(stack, "aws_s3_bucket_lifecycle_configuration", id);
    expect(lifecycle.rule).toContainEqual(expect.objectContaining({ abort_incomplete_multipart_upload: [{ days_after_initiation: 7 }] }));
  });

  it("creates customer-managed keys with rotation that cannot be destroyed by accident", () => {
    for (const key of resourcesOfType(stack, "aws_kms_key")) {
      expect(key.enable_key_rotation).toBe(true);
      expect(key.lifecycle).toEqual({ prevent_destroy: true });
      expect(JSON.parse(key.policy as string).Statement.flatMap((s: PolicyStatement) => asList(s.Action))).not.toContain("kms:*");
    }
  });

  it("grants no wildcard actions and no S3/KMS action on a wildcard resource", () => {
    for (const statement of identityStatements(stack).filter((s) => s.Effect === "Allow")) {
      for (const action of asList(statement.Action)) expect(["*", "s3:*", "iam:*", "kms:*"]).not.toContain(action);
      for (const resource of asList(statement.Resource)) {
        expect(resource).not.toBe("*");
        expect(resource).not.toMatch(/^arn:aws:s3:::\*/);
      }
    }
  });

  it("conditions every KMS grant on S3 in this region and on the buckets' encryption context", () => {
    const kms = identityStatements(stack).filter((s) => asList(s.Action).some((a) => a.startsWith("kms:")));
    for (const statement of kms) {
      expect(statement.Condition?.StringEquals?.["kms:ViaService"]).toBe("s3.ap-northeast-1.amazonaws.com");
      expect(asList(statement.Condition?.StringEquals?.["kms:EncryptionContext:aws:s3:arn"]).length).toBeGreaterThan(0);
    }
  });

  it("attaches no forbidden managed policy and creates no IAM user", () => {
    for (const attachment of resourcesOfType(stack, "aws_iam_role_policy_attachment"))
      expect(attachment.policy_arn).not.toMatch(/:policy\/(AdministratorAccess|IAMFullAccess|AmazonS3FullAccess)$/);
    expect(Object.keys(stack.resource ?? {}).filter((type) => type.startsWith("aws_iam_user"))).toEqual([]);
  });

  it("trusts, for IRSA roles, the oidc stack's provider with StringEquals on aud and sub", () => {
    for (const role of resourcesOfType(stack, "aws_iam_role")) {
      const [statement] = JSON.parse(role.assume_role_policy as string).Statement as PolicyStatement[];
      if (statement.Action !== "sts:AssumeRoleWithWebIdentity") continue;
      const environment = stackId.endsWith("dev") ? "dev" : "prod";
      expect(statement.Principal).toEqual({
        Federated: `\${data.terraform_remote_state.cross-stack-reference-input-oidc-${environment}.outputs.cross-stack-output-aws_iam_openid_connect_providerproviderarn}`,
      });
      expect(statement.Condition?.StringLike).toBeUndefined();
      const keys = Object.keys(statement.Condition?.StringEquals ?? {});
      expect(keys.sort()).toEqual([expect.stringMatching(/:aud$/), expect.stringMatching(/:sub$/)]);
      expect(statement.Condition?.StringEquals?.[keys.find((k) => k.endsWith(":aud"))!]).toBe("sts.amazonaws.com");
      expect(statement.Condition?.StringEquals?.[keys.find((k) => k.endsWith(":sub"))!]).toMatch(/^system:serviceaccount:[a-z0-9-]+:[a-z0-9.-]+$/);
    }
  });
});

describe("aws-workloads-prod", () => {
  const stack = stacks["aws-workloads-prod"];

  it("creates one IRSA role per catalog workload with AWS access, named after cluster, namespace and ServiceAccount", () => {
    expect(resourcesOfType(stack, "aws_iam_role").map((role) => role.name).sort()).toEqual([
      "gitlab-cluster-default-irsa-for-google-cloud",
      "gitlab-cluster-default-s3-full-access",
    ]);
    expect(resourcesOfType(stack, "aws_eks_pod_identity_association")).toHaveLength(0);
  });

  it("reads the provider ARN from oidc-prod's state (prod's S3 backend), never from a copied value", () => {
    expect(stack.data?.terraform_remote_state?.["cross-stack-reference-input-oidc-prod"]).toEqual({
      backend: "s3",
      config: { bucket: "cluster-identity-prod-tfstate", key: "cluster-identity/prod/oidc-prod.tfstate", region: "ap-northeast-1", encrypt: true },
      workspace: "${terraform.workspace}",
    });
  });
});

describe("gitlab-storage-prod", () => {
  const stack = stacks["gitlab-storage-prod"];

  it("creates the seven buckets of seed 003, tmp expiring", () => {
    expect(resourcesOfType(stack, "aws_s3_bucket").map((b) => b.bucket).sort()).toEqual(
      ["artifacts", "backups", "lfs", "packages", "registry", "tmp", "uploads"].map((purpose) => `example-gitlab-eks-${purpose}`),
    );
    const tmpId = Object.entries(stack.resource!.aws_s3_bucket).find(([, b]) => b.bucket === "example-gitlab-eks-tmp")![0];
    const [lifecycle] = forBucket(stack, "aws_s3_bucket_lifecycle_configuration", tmpId);
    expect(lifecycle.rule).toContainEqual(expect.objectContaining({ id: "expire-objects", expiration: [{ days: 7 }] }));
  });

  it("uses a rotated customer-managed key with an alias", () => {
    expect(resourcesOfType(stack, "aws_kms_alias")).toEqual([expect.objectContaining({ name: "alias/example-gitlab-eks-object-storage" })]);
  });

  it("binds gitlab/gitlab-global through EKS Pod Identity", () => {
    expect(resourcesOfType(stack, "aws_eks_pod_identity_association")).toEqual([
      expect.objectContaining({ cluster_name: "gitlab-cluster", namespace: "gitlab", service_account: "gitlab-global", role_arn: expect.stringMatching(/^\$\{aws_iam_role\./) }),
    ]);
    const [role] = resourcesOfType(stack, "aws_iam_role");
    expect(JSON.parse(role.assume_role_policy as string).Statement[0]).toMatchObject({
      Principal: { Service: "pods.eks.amazonaws.com" },
      Action: ["sts:AssumeRole", "sts:TagSession"],
    });
    // Pod Identity needs nothing of oidc-prod; delivery-prod provides the permissions boundary.
    expect(Object.keys(stack.data?.terraform_remote_state ?? {})).toEqual(["cross-stack-reference-input-delivery-prod"]);
  });

  it("attaches the four policies", () => {
    expect(resourcesOfType(stack, "aws_iam_policy").map((p) => p.name).sort()).toEqual([
      "example-gitlab-eks-s3-backups-policy",
      "example-gitlab-eks-s3-kms-policy",
      "example-gitlab-eks-s3-objects-policy",
      "example-gitlab-eks-s3-registry-policy",
    ]);
    expect(resourcesOfType(stack, "aws_iam_role_policy_attachment")).toHaveLength(4);
  });

  it("outputs what people paste: role, buckets, key, region and the Helm values", () => {
    expect(Object.keys(stack.output ?? {}).sort()).toEqual(["bucket_names", "helm_values", "kms_key_arn", "region", "role_arn"]);
    expect(stack.output?.helm_values.value).toContain("connection:\n        secret: gitlab-object-storage\n        key: connection");
  });
});

describe("gitlab-storage-dev (self-managed cluster)", () => {
  it("uses IRSA trusting oidc-dev's provider, with no pod identity association", () => {
    const stack = stacks["gitlab-storage-dev"];
    expect(resourcesOfType(stack, "aws_eks_pod_identity_association")).toHaveLength(0);
    const [role] = resourcesOfType(stack, "aws_iam_role");
    expect(JSON.parse(role.assume_role_policy as string).Statement[0].Condition.StringEquals).toEqual({
      "cluster-identity-dev-oidc-issuer.s3.ap-northeast-1.amazonaws.com:aud": "sts.amazonaws.com",
      "cluster-identity-dev-oidc-issuer.s3.ap-northeast-1.amazonaws.com:sub": "system:serviceaccount:gitlab:gitlab-global",
    });
  });
});

describe("gitlab-storage with the AWS-managed key (the seed's choice)", () => {
  it("encrypts with alias/aws/s3 and creates no key", () => {
    const environment = environmentFromYaml(`
aws: { accountId: "222222222222", region: ap-northeast-1 }
cluster: { type: eks, name: prod, issuerUrl: "https://oidc.eks.ap-northeast-1.amazonaws.com/id/ABC" }
gitlab: { bucketPrefix: acme-gitlab, kmsKey: aws-managed }
`);
    const stack = synthesizedStacks(environment)["gitlab-storage-test"];
    expect(Object.values(stack.data?.aws_kms_key ?? {})).toEqual([expect.objectContaining({ key_id: "alias/aws/s3" })]);
    expect(resourcesOfType(stack, "aws_kms_key")).toHaveLength(0);
    const kms = JSON.parse(resourcesOfType(stack, "aws_iam_policy").find((p) => p.name === "acme-gitlab-s3-kms-policy")!.policy as string);
    expect(kms.Statement[0].Resource).toMatch(/^\$\{data\.aws_kms_key\./);
  });
});

describe("managed policies on a workload role", () => {
  const stack = synthesizedStacks(
    environmentFromYaml(`
aws: { accountId: "222222222222", region: ap-northeast-1 }
cluster: { type: eks, name: prod, issuerUrl: "https://oidc.eks.ap-northeast-1.amazonaws.com/id/ABC" }
workloads:
  - namespace: monitoring
    serviceAccount: agent
    aws:
      mode: pod-identity
      managedPolicyArns: ["arn:aws:iam::222222222222:policy/team/agent-extra"]
      awsManagedPolicies:
        - { arn: "arn:aws:iam::aws:policy/CloudWatchReadOnlyAccess", reason: "the vendor agent reads CloudWatch metrics of the account" }
`),
  )["aws-workloads-test"];
  const attachments = resourcesOfType(stack, "aws_iam_role_policy_attachment");
  const byArn = (arn: string) => attachments.find((attachment) => attachment.policy_arn === arn)!;

  it("attaches both: the customer-managed policy and the allowlisted AWS managed one", () => {
    expect(attachments.map((attachment) => attachment.policy_arn).sort()).toEqual([
      "arn:aws:iam::222222222222:policy/team/agent-extra",
      "arn:aws:iam::aws:policy/CloudWatchReadOnlyAccess",
    ]);
  });

  it("writes the allowlist entry's reason on the AWS managed attachment as an accepted config choice", () => {
    expect((byArn("arn:aws:iam::aws:policy/CloudWatchReadOnlyAccess")["//"] as Record<string, unknown>).suppressions).toEqual([
      { ruleId: AWS_MANAGED_POLICY_RULE_ID, reason: "config/test.yaml: monitoring/agent aws.awsManagedPolicies: the vendor agent reads CloudWatch metrics of the account" },
    ]);
    expect((byArn("arn:aws:iam::222222222222:policy/team/agent-extra")["//"] as Record<string, unknown> | undefined)?.suppressions).toBeUndefined();
  });

  it("accepts only rule ids a config choice can accept", () => {
    expect(CONFIG_CHOICE_RULE_IDS).toEqual(["CI-GCP-8", "CI-S3-3", "CI-K8S-4", "CI-K8S-6", "CI-IAM-10"]);
  });
});
