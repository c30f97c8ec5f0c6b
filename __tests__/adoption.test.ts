/**
 * Adopting what already exists: IAM OIDC providers in `use` (referenced, never managed) or `import`ed, and
 * buckets (`import: true`, with every companion) that keep their existing customer-managed key.
 */
import { adoptedResources, adoptedSection, referencedResources } from "../lib/review/adopted";
import type { StackJson } from "../lib/rules/types";
import { offlinePlanObstacle } from "../lib/terraform/offline";
import { identityDecision, policyOf } from "./iam-engine";
import { configErrorOf, environmentFromYaml, resourcesOfType, shippedStacks, synthesizedStacks, SynthesizedStack } from "./helpers";

const EKS = `
aws:
  accountId: "222222222222"
  region: ap-northeast-1
cluster:
  type: eks
  name: blue
  issuerUrl: https://oidc.eks.ap-northeast-1.amazonaws.com/id/BLUE
`;
const BLUE_ARN = "arn:aws:iam::222222222222:oidc-provider/oidc.eks.ap-northeast-1.amazonaws.com/id/BLUE";
const KEY_ARN = "arn:aws:kms:ap-northeast-1:222222222222:key/1234abcd-12ab-34cd-56ef-1234567890ab";
const WORKLOAD = `workloads:
  - { namespace: default, serviceAccount: app, aws: { mode: irsa, s3: [{ bucket: acme-data, access: read-write }] } }
`;

const synth = (yaml: string, name = "test") => synthesizedStacks(environmentFromYaml(yaml, name));
const importsOf = (stack: SynthesizedStack) => ((stack as { import?: { id: string; to: string }[] }).import ?? []);

describe("an existing IAM OIDC provider", () => {
  const created = synth(`${EKS}${WORKLOAD.replace("s3: [{ bucket: acme-data, access: read-write }]", "s3: []")}`);
  const used = synth(`${EKS.replace("id/BLUE\n", `id/BLUE\n  oidcProvider: { use: "${BLUE_ARN}" }\n`)}${WORKLOAD.replace("s3: [{ bucket: acme-data, access: read-write }]", "s3: []")}`);
  const imported = synth(`${EKS.replace("id/BLUE\n", `id/BLUE\n  oidcProvider: { import: "${BLUE_ARN}" }\n`)}${WORKLOAD.replace("s3: [{ bucket: acme-data, access: read-write }]", "s3: []")}`);

  it("in use: is never created, and trusts name its ARN", () => {
    expect(used["oidc-test"].resource?.aws_iam_openid_connect_provider).toBeUndefined();
    expect(used["oidc-test"].output?.oidc_provider_arn.value).toBe(BLUE_ARN);
    const trust = JSON.parse(resourcesOfType(used["aws-workloads-test"], "aws_iam_role")[0].assume_role_policy as string);
    expect(trust.Statement[0].Principal).toEqual({ Federated: BLUE_ARN });
    expect(used["aws-workloads-test"].data?.terraform_remote_state).toBeUndefined();
  });

  it("imported: is managed at the address a created one has, with an import block by ARN", () => {
    expect(Object.keys(imported["oidc-test"].resource?.aws_iam_openid_connect_provider ?? {})).toEqual(Object.keys(created["oidc-test"].resource?.aws_iam_openid_connect_provider ?? {}));
    expect(imported["oidc-test"].resource?.aws_iam_openid_connect_provider).toEqual(created["oidc-test"].resource?.aws_iam_openid_connect_provider);
    expect(importsOf(imported["oidc-test"])).toEqual([{ id: BLUE_ARN, to: "aws_iam_openid_connect_provider.provider" }]);
    expect(importsOf(created["oidc-test"])).toEqual([]);
  });
});

describe("an adopted data bucket with its existing key", () => {
  const bucket = (extra: string) => `buckets:\n  - { name: acme-data${extra} }\n`;
  const created = synth(`${EKS}${bucket("")}${WORKLOAD}`);
  const adopted = synth(`${EKS}${bucket(`, import: true, kmsKeyArn: "${KEY_ARN}"`)}${WORKLOAD}`);
  const stack = adopted["aws-workloads-test"];

  it("imports the bucket and each companion by bucket name, at the addresses a created bucket has", () => {
    const imports = importsOf(stack);
    expect(imports.map((block) => block.to.split(".")[0])).toEqual([
      "aws_s3_bucket",
      "aws_s3_bucket_versioning",
      "aws_s3_bucket_server_side_encryption_configuration",
      "aws_s3_bucket_public_access_block",
      "aws_s3_bucket_ownership_controls",
      "aws_s3_bucket_policy",
      "aws_s3_bucket_lifecycle_configuration",
    ]);
    expect(new Set(imports.map((block) => block.id))).toEqual(new Set(["acme-data"]));
    const createdAddresses = Object.entries(created["aws-workloads-test"].resource ?? {}).flatMap(([type, resources]) => Object.keys(resources).map((name) => `${type}.${name}`));
    for (const block of imports) expect(createdAddresses).toContain(block.to);
  });

  it("keeps its key: never re-encrypts with a new one, creates no key, stays protected", () => {
    const sse = resourcesOfType(stack, "aws_s3_bucket_server_side_encryption_configuration")[0].rule as { apply_server_side_encryption_by_default: { kms_master_key_id: string } }[];
    expect(sse[0].apply_server_side_encryption_by_default.kms_master_key_id).toBe(KEY_ARN);
    expect(stack.resource?.aws_kms_key).toBeUndefined();
    expect(resourcesOfType(stack, "aws_s3_bucket")[0]).toMatchObject({ bucket: "acme-data", lifecycle: { prevent_destroy: true } });
    expect(resourcesOfType(stack, "aws_s3_bucket")[0].force_destroy).toBeUndefined();
  });

  it("lets the role decrypt objects written before adoption (object-level encryption context) through S3 only", () => {
    const policy = policyOf(stack, resourcesOfType(stack, "aws_iam_role_policy")[0].policy as string, { accountId: "222222222222", region: "ap-northeast-1" });
    // The existing key's policy must delegate to IAM (the account), as AWS's default key policy does (README "Day 2").
    const keyPolicy = {
      Version: "2012-10-17" as const,
      Statement: [{ Sid: "EnableIamPolicies", Effect: "Allow" as const, Principal: { AWS: "arn:aws:iam::222222222222:root" }, Action: "kms:*", Resource: "*" }],
    };
    const request = (context: Record<string, string>) =>
      identityDecision([policy], { action: "kms:Decrypt", resource: KEY_ARN, accountId: "222222222222", context, resourcePolicy: keyPolicy });
    const viaS3 = { "kms:ViaService": "s3.ap-northeast-1.amazonaws.com" };
    expect(request({ ...viaS3, "kms:EncryptionContext:aws:s3:arn": "arn:aws:s3:::acme-data/reports/2023.csv" })).toBe("Allowed");
    expect(request({ ...viaS3, "kms:EncryptionContext:aws:s3:arn": "arn:aws:s3:::acme-data" })).toBe("Allowed");
    expect(request({ ...viaS3, "kms:EncryptionContext:aws:s3:arn": "arn:aws:s3:::other-bucket/x" })).toBe("ImplicitlyDenied");
    expect(request({ "kms:ViaService": "ec2.ap-northeast-1.amazonaws.com", "kms:EncryptionContext:aws:s3:arn": "arn:aws:s3:::acme-data/x" })).toBe("ImplicitlyDenied");
  });

  it("creates the companions the bucket lacks instead of importing them (importExcept)", () => {
    const partial = synth(`${EKS}${bucket(`, import: true, importExcept: [policy, lifecycle]`)}${WORKLOAD}`)["aws-workloads-test"];
    expect(importsOf(partial).map((block) => block.to.split(".")[0])).not.toEqual(expect.arrayContaining(["aws_s3_bucket_policy"]));
    expect(importsOf(partial)).toHaveLength(5);
    expect(resourcesOfType(partial, "aws_s3_bucket_policy")).toHaveLength(1);
    // Without its own key the adopted bucket is encrypted with the environment's data key from now on.
    expect(resourcesOfType(partial, "aws_kms_key")).toHaveLength(1);
  });
});

describe("adopted GitLab buckets and an adopted issuer", () => {
  it("imports all seven GitLab buckets with every companion and references their existing key", () => {
    const stacks = synth(`${EKS}gitlab: { bucketPrefix: acme-gitlab, import: true, kmsKeyArn: "${KEY_ARN}" }\n`);
    const gitlab = stacks["gitlab-storage-test"];
    expect(importsOf(gitlab)).toHaveLength(7 * 7);
    expect(new Set(importsOf(gitlab).map((block) => block.id))).toEqual(
      new Set(["registry", "lfs", "artifacts", "uploads", "packages", "backups", "tmp"].map((purpose) => `acme-gitlab-${purpose}`)),
    );
    expect(gitlab.resource?.aws_kms_key).toBeUndefined();
    const kms = resourcesOfType(gitlab, "aws_iam_policy").map((policy) => JSON.parse(policy.policy as string)).find((policy) => policy.Statement[0].Sid === "ObjectStorageKey");
    expect(kms.Statement[0].Resource).toBe(KEY_ARN);
    // Objects written before adoption may predate Bucket Keys: the object-level context is admitted too.
    const contexts = kms.Statement[0].Condition.StringLike["kms:EncryptionContext:aws:s3:arn"] as string[];
    expect(contexts).toHaveLength(14);
    expect(contexts.filter((context) => context.endsWith("}/*"))).toHaveLength(7);
  });

  it("imports a self-managed cluster's issuer bucket and its companions, rewriting the two documents in place", () => {
    const stacks = synth(`
aws: { accountId: "111111111111", region: ap-northeast-1 }
cluster:
  type: self-managed
  name: kops
  issuer: { bucketName: acme-oidc-issuer, import: true }
  serviceAccountKeyFiles: [keys/dev/sa-signer-pkcs8.pub]
`);
    const oidc = stacks["oidc-test"];
    expect(importsOf(oidc)).toHaveLength(7);
    expect(new Set(importsOf(oidc).map((block) => block.id))).toEqual(new Set(["acme-oidc-issuer"]));
    expect(importsOf(oidc).some((block) => block.to.startsWith("aws_s3_object."))).toBe(false);
  });
});

describe("bad adoption input", () => {
  it.each([
    [`${EKS}buckets:\n  - { name: acme-data, importExcept: [policy] }\n`, 'config/test.yaml:10:38: buckets[0].importExcept = ["policy"]: importExcept lists companions not to import; it needs import: true'],
    [
      `${EKS}buckets:\n  - { name: acme-data, import: true, kmsKeyArn: "${KEY_ARN.replace("ap-northeast-1", "us-east-1")}" }\n`,
      `config/test.yaml:10:49: buckets[0].kmsKeyArn = "${KEY_ARN.replace("ap-northeast-1", "us-east-1")}": the key is in us-east-1, but the buckets are in ap-northeast-1; S3 encrypts only with a key of the bucket's region`,
    ],
    [
      `${EKS}buckets:\n  - { name: acme-data, import: true, kmsKeyArn: "arn:aws:kms:ap-northeast-1:222222222222:alias/data" }\n`,
      'config/test.yaml:10:49: buckets[0].kmsKeyArn = "arn:aws:kms:ap-northeast-1:222222222222:alias/data": must be a KMS key ARN: arn:<partition>:kms:<region>:<12-digit account>:key/<key id> (not an alias)',
    ],
    [
      `${EKS}gitlab: { bucketPrefix: acme-gitlab, kmsKey: aws-managed, kmsKeyArn: "${KEY_ARN}" }\n`,
      `config/test.yaml:9:70: gitlab.kmsKeyArn = "${KEY_ARN}": kmsKey: aws-managed uses alias/aws/s3; name an existing customer-managed key or the AWS-managed one, not both`,
    ],
  ])("refuses %#", (yaml, message) => {
    expect(configErrorOf(yaml)).toBe(message);
  });
});

describe("the review's adopted resources (staging)", () => {
  const staging = new Map(Object.entries(shippedStacks()).filter(([id]) => id.endsWith("-staging"))) as Map<string, StackJson>;

  it("lists every import block and every existing resource used without being managed", () => {
    expect(adoptedResources(staging).map((item) => [item.stackId, item.address.split(".")[0], item.importId])).toEqual(
      [
        "aws_s3_bucket",
        "aws_s3_bucket_versioning",
        "aws_s3_bucket_server_side_encryption_configuration",
        "aws_s3_bucket_public_access_block",
        "aws_s3_bucket_ownership_controls",
        "aws_s3_bucket_policy",
        "aws_s3_bucket_lifecycle_configuration",
      ].map((type) => ["aws-workloads-staging", type, "cluster-identity-staging-reports"]),
    );
    expect(referencedResources(staging)).toEqual([
      {
        stackId: "aws-workloads-staging",
        kind: "KMS key",
        arn: "arn:aws:kms:ap-northeast-1:444444444444:key/0f1e2d3c-4b5a-4968-8776-a5b4c3d2e1f0",
        usedBy: "encrypts bucket cluster-identity-staging-reports",
      },
      {
        stackId: "oidc-staging",
        kind: "IAM OIDC provider",
        arn: "arn:aws:iam::444444444444:oidc-provider/oidc.eks.ap-northeast-1.amazonaws.com/id/EXAMPLEB1E0C5D6E7F8091A2B3C4D5E6F",
        usedBy: "output oidc_provider_arn (IRSA trusts)",
      },
    ]);
  });

  it("says so when nothing is adopted", () => {
    const dev = new Map(Object.entries(shippedStacks()).filter(([id]) => id.endsWith("-dev"))) as Map<string, StackJson>;
    expect(adoptedSection(dev)).toEqual(["Nothing adopted: every resource of this environment is created by this app."]);
  });
});

describe("synthesizing imports", () => {
  it("needs no terraform binary (cdktf's per-import `terraform version` check is dropped; Terraform enforces ≥ 1.5 itself)", () => {
    const path = process.env.PATH;
    process.env.PATH = "/nonexistent";
    try {
      const stacks = synth(`${EKS.replace("id/BLUE\n", `id/BLUE\n  oidcProvider: { import: "${BLUE_ARN}" }\n`)}buckets:\n  - { name: acme-data, import: true }\n`);
      expect(importsOf(stacks["oidc-test"])).toHaveLength(1);
      expect(importsOf(stacks["aws-workloads-test"])).toHaveLength(7);
    } finally {
      process.env.PATH = path;
    }
  });
});

describe("offline validation of stacks that adopt", () => {
  it("plans a stack without import blocks, and says why one with them can only be validated", () => {
    expect(offlinePlanObstacle({})).toBeUndefined();
    expect(offlinePlanObstacle({ import: [{ id: "a", to: "aws_s3_bucket.a" }] })).toBe(
      "plan skipped: 1 import block adopts existing resources, and planning an import reads them from the account",
    );
  });
});
