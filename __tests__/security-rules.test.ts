/** The security rule pack (lib/rules): each rule against a compliant and a non-compliant resource. */
import { ALL_RULES, evaluateStack, ResourceUnderTest, ruleById, runRule, StackJson, unsuppressed } from "../lib/rules";
import {
  awsStack,
  document,
  googleStack,
  irsaTrust,
  ISSUER,
  ISSUER_STACK_ID,
  issuerStack,
  kmsStatement,
  kubernetesStack,
  podIdentityTrust,
  POOL_NAME,
  s3Statements,
  subject,
  tlsDeny,
  withResource,
} from "./fixtures/security-rule-stacks";

interface Case {
  readonly compliant: ResourceUnderTest;
  readonly violating: ResourceUnderTest;
}

const aws = awsStack();
const issuer = issuerStack();
const google = googleStack();
const kubernetes = kubernetesStack();

const inAws = (type: string, name: string, stack: StackJson = aws) => subject("aws-test", stack, type, name);
const inIssuer = (type: string, name: string, stack: StackJson = issuer) => subject(ISSUER_STACK_ID, stack, type, name);
const inGoogle = (type: string, name: string, stack: StackJson = google) => subject("gcp-test", stack, type, name);
const inKubernetes = (type: string, name: string, stack: StackJson = kubernetes) => subject("k8s-test", stack, type, name);

/** The data bucket, after editing one of its companions (or itself). */
const dataBucketWith = (type: string, name: string, edit: (config: Record<string, unknown>) => Record<string, unknown> | void) =>
  inAws("aws_s3_bucket", "data", withResource(aws, type, name, edit));
const roleWithTrust = (trust: string) => inAws("aws_iam_role", "irsa", withResource(aws, "aws_iam_role", "irsa", (role) => ({ ...role, assume_role_policy: trust })));
const podRoleWithTrust = (trust: string) => inAws("aws_iam_role", "pod", withResource(aws, "aws_iam_role", "pod", (role) => ({ ...role, assume_role_policy: trust })));
const inlinePolicy = (...statements: unknown[]) =>
  inAws("aws_iam_role_policy", "irsa_policy", withResource(aws, "aws_iam_role_policy", "irsa_policy", (policy) => ({ ...policy, policy: document(...statements) })));

const CASES: Record<string, Case> = {
  "CI-S3-1": {
    compliant: inAws("aws_s3_bucket", "data"),
    violating: dataBucketWith("aws_s3_bucket_versioning", "data_versioning", (v) => ({ ...v, versioning_configuration: { status: "Suspended" } })),
  },
  "CI-S3-2": {
    compliant: inAws("aws_s3_bucket", "data"),
    violating: dataBucketWith("aws_s3_bucket_server_side_encryption_configuration", "data_encryption", (e) => ({
      ...e,
      rule: [{ apply_server_side_encryption_by_default: { sse_algorithm: "aws:kms", kms_master_key_id: "${aws_kms_key.key.arn}" }, bucket_key_enabled: false }],
    })),
  },
  "CI-S3-3": {
    compliant: inAws("aws_s3_bucket", "data"),
    violating: inAws(
      "aws_s3_bucket",
      "data",
      withResource(
        { ...aws, data: { aws_kms_key: { s3: { key_id: "alias/aws/s3" } } } },
        "aws_s3_bucket_server_side_encryption_configuration",
        "data_encryption",
        (e) => ({ ...e, rule: [{ apply_server_side_encryption_by_default: { sse_algorithm: "aws:kms", kms_master_key_id: "${data.aws_kms_key.s3.arn}" }, bucket_key_enabled: true }] }),
      ),
    ),
  },
  "CI-S3-4": {
    compliant: inAws("aws_s3_bucket", "data"),
    violating: dataBucketWith("aws_s3_bucket_public_access_block", "data_pab", (p) => ({ ...p, restrict_public_buckets: false })),
  },
  "CI-S3-5": {
    compliant: inAws("aws_s3_bucket", "data"),
    violating: dataBucketWith("aws_s3_bucket_ownership_controls", "data_ownership", (o) => ({ ...o, rule: { object_ownership: "ObjectWriter" } })),
  },
  "CI-S3-6": {
    compliant: inAws("aws_s3_bucket", "data"),
    violating: dataBucketWith("aws_s3_bucket_policy", "data_policy", (p) => ({
      ...p,
      policy: document({ ...tlsDeny("data"), Condition: { Bool: { "aws:SecureTransport": "true" } } }),
    })),
  },
  "CI-S3-7": {
    compliant: inAws("aws_s3_bucket", "data"),
    violating: dataBucketWith("aws_s3_bucket_lifecycle_configuration", "data_lifecycle", (l) => ({
      ...l,
      rule: [{ id: "abort-under-a-prefix-only", status: "Enabled", filter: [{ prefix: "uploads/" }], abort_incomplete_multipart_upload: [{ days_after_initiation: 7 }] }],
    })),
  },
  "CI-S3-8": {
    compliant: inAws("aws_s3_bucket", "data"),
    violating: dataBucketWith("aws_s3_bucket", "data", (b) => ({ ...b, force_destroy: true })),
  },
  "CI-S3-9": {
    compliant: inAws("aws_s3_bucket", "data"),
    violating: dataBucketWith("aws_s3_bucket", "data", (b) => ({ ...b, lifecycle: undefined })),
  },
  "CI-S3-10": {
    compliant: inAws("aws_s3_bucket_policy", "data_policy"),
    violating: inAws(
      "aws_s3_bucket_policy",
      "data_policy",
      withResource(aws, "aws_s3_bucket_policy", "data_policy", (p) => ({
        ...p,
        policy: document({ Effect: "Allow", Principal: { AWS: "*" }, Action: "s3:GetObject", Resource: "${aws_s3_bucket.data.arn}/*" }, tlsDeny("data")),
      })),
    ),
  },
  "CI-ISSUER-1": {
    compliant: inIssuer("aws_s3_bucket_policy", "issuer_policy"),
    violating: inIssuer(
      "aws_s3_bucket_policy",
      "issuer_policy",
      withResource(issuer, "aws_s3_bucket_policy", "issuer_policy", (p) => ({
        ...p,
        policy: document({ Sid: "PublicRead", Effect: "Allow", Principal: "*", Action: "s3:GetObject", Resource: "${aws_s3_bucket.issuer_bucket.arn}/*" }),
      })),
    ),
  },
  "CI-ISSUER-2": {
    compliant: inIssuer("aws_s3_bucket", "issuer_bucket"),
    violating: inIssuer(
      "aws_s3_bucket",
      "issuer_bucket",
      withResource(issuer, "aws_s3_bucket_server_side_encryption_configuration", "issuer_encryption", (e) => ({
        ...e,
        rule: [{ apply_server_side_encryption_by_default: { sse_algorithm: "aws:kms", kms_master_key_id: "${aws_kms_key.key.arn}" }, bucket_key_enabled: true }],
      })),
    ),
  },
  "CI-IAM-1": {
    compliant: inAws("aws_iam_role_policy", "irsa_policy"),
    violating: inlinePolicy({ Sid: "Everything", Effect: "Allow", Action: "s3:*", Resource: "${aws_s3_bucket.data.arn}" }),
  },
  "CI-IAM-2": {
    compliant: inAws("aws_iam_role_policy", "irsa_policy"),
    violating: inlinePolicy({ Sid: "AnyBucket", Effect: "Allow", Action: ["s3:GetObject"], Resource: "arn:aws:s3:::*" }),
  },
  "CI-IAM-3": {
    compliant: inAws("aws_iam_role_policy", "irsa_policy"),
    violating: inlinePolicy(...s3Statements(), kmsStatement({ StringEquals: { "kms:EncryptionContext:aws:s3:arn": ["${aws_s3_bucket.data.arn}"] } })),
  },
  "CI-IAM-4": {
    compliant: inAws("aws_iam_role_policy_attachment", "attach"),
    violating: inAws(
      "aws_iam_role_policy_attachment",
      "attach",
      withResource(aws, "aws_iam_role_policy_attachment", "attach", (a) => ({ ...a, policy_arn: "arn:aws:iam::aws:policy/AmazonS3FullAccess" })),
    ),
  },
  "CI-IAM-5": {
    compliant: inAws("aws_iam_role", "irsa"),
    violating: inAws("aws_iam_user", "ci", withResource(aws, "aws_iam_user", "ci", () => ({ name: "ci" }))),
  },
  "CI-IAM-6": {
    compliant: inAws("aws_iam_policy", "objects"),
    violating: inAws("aws_iam_policy", "objects", withResource(aws, "aws_iam_policy", "objects", (p) => ({ ...p, policy: "${data.aws_iam_policy_document.objects.json}" }))),
  },
  "CI-IAM-7": {
    compliant: inAws("aws_iam_role", "irsa"),
    violating: roleWithTrust(document({ Effect: "Allow", Principal: { AWS: "*" }, Action: "sts:AssumeRole" })),
  },
  "CI-IRSA-1": {
    compliant: inAws("aws_iam_role", "irsa"),
    violating: roleWithTrust(
      document({
        Effect: "Allow",
        Principal: { Federated: "accounts.google.com" },
        Action: "sts:AssumeRoleWithWebIdentity",
        Condition: { StringEquals: { [`${ISSUER}:aud`]: "sts.amazonaws.com", [`${ISSUER}:sub`]: "system:serviceaccount:default:app" } },
      }),
    ),
  },
  "CI-IRSA-2": {
    compliant: inAws("aws_iam_role", "irsa"),
    violating: roleWithTrust(irsaTrust({ StringEquals: { [`${ISSUER}:sub`]: "system:serviceaccount:default:app" } })),
  },
  "CI-IRSA-3": {
    compliant: inAws("aws_iam_role", "irsa"),
    violating: roleWithTrust(
      irsaTrust({ StringEquals: { [`${ISSUER}:aud`]: "sts.amazonaws.com" }, StringLike: { [`${ISSUER}:sub`]: "system:serviceaccount:default:*" } }),
    ),
  },
  "CI-PODID-1": {
    compliant: inAws("aws_iam_role", "pod"),
    violating: podRoleWithTrust(podIdentityTrust({ Action: "sts:AssumeRole" })),
  },
  "CI-PODID-2": {
    compliant: inAws("aws_iam_role", "pod"),
    violating: podRoleWithTrust(
      podIdentityTrust({ Condition: { StringEquals: { "aws:SourceAccount": "111111111111", "aws:RequestTag/kubernetes-namespace": "gitlab" } } }),
    ),
  },
  "CI-KMS-1": {
    compliant: inAws("aws_kms_key", "key"),
    violating: inAws("aws_kms_key", "key", withResource(aws, "aws_kms_key", "key", (k) => ({ ...k, enable_key_rotation: false }))),
  },
  "CI-KMS-2": {
    compliant: inAws("aws_kms_key", "key"),
    violating: inAws("aws_kms_key", "key", withResource(aws, "aws_kms_key", "key", (k) => ({ ...k, lifecycle: undefined }))),
  },
  "CI-GCP-1": {
    compliant: inGoogle("google_iam_workload_identity_pool_provider", "provider"),
    violating: inGoogle(
      "google_iam_workload_identity_pool_provider",
      "provider",
      withResource(google, "google_iam_workload_identity_pool_provider", "provider", (p) => ({ ...p, oidc: undefined, aws: { account_id: "111111111111" } })),
    ),
  },
  "CI-GCP-2": {
    compliant: inGoogle("google_iam_workload_identity_pool_provider", "provider"),
    violating: inGoogle(
      "google_iam_workload_identity_pool_provider",
      "provider",
      withResource(google, "google_iam_workload_identity_pool_provider", "provider", (p) => ({ ...p, attribute_condition: undefined })),
    ),
  },
  "CI-GCP-3": {
    compliant: inGoogle("google_iam_workload_identity_pool_provider", "provider"),
    violating: inGoogle(
      "google_iam_workload_identity_pool_provider",
      "provider",
      withResource(google, "google_iam_workload_identity_pool_provider", "provider", (p) => ({ ...p, attribute_mapping: { "attribute.ksa_name": "assertion.sub" } })),
    ),
  },
  "CI-GCP-4": {
    compliant: inGoogle("google_service_account_iam_member", "wiu"),
    violating: inGoogle(
      "google_project_iam_member",
      "wiu_project",
      withResource(google, "google_project_iam_member", "wiu_project", () => ({
        project: "acme",
        role: "roles/iam.workloadIdentityUser",
        member: `principalSet://iam.googleapis.com/${POOL_NAME}/attribute.ksa_name/default:app`,
      })),
    ),
  },
  "CI-GCP-5": {
    compliant: inGoogle("google_service_account_iam_member", "wiu"),
    violating: inGoogle(
      "google_service_account_iam_member",
      "wiu",
      withResource(google, "google_service_account_iam_member", "wiu", (m) => ({ ...m, member: `principalSet://iam.googleapis.com/${POOL_NAME}/*` })),
    ),
  },
  "CI-GCP-6": {
    compliant: inGoogle("google_project_iam_member", "job_user"),
    violating: inGoogle(
      "google_project_iam_binding",
      "jobs",
      withResource(google, "google_project_iam_binding", "jobs", () => ({ project: "acme", role: "roles/bigquery.jobUser", members: ["serviceAccount:a@b"] })),
    ),
  },
  "CI-GCP-7": {
    compliant: inGoogle("google_project_iam_member", "job_user"),
    violating: inGoogle("google_project_iam_member", "job_user", withResource(google, "google_project_iam_member", "job_user", (m) => ({ ...m, role: "roles/editor" }))),
  },
  "CI-GCP-8": {
    compliant: inGoogle("google_bigquery_dataset_iam_member", "viewer"),
    violating: inGoogle(
      "google_project_iam_member",
      "job_user",
      withResource(google, "google_project_iam_member", "job_user", (m) => ({ ...m, role: "roles/bigquery.admin" })),
    ),
  },
  "CI-GCP-9": {
    compliant: inGoogle("google_service_account", "app"),
    violating: inGoogle(
      "google_service_account_key",
      "key",
      withResource(google, "google_service_account_key", "key", () => ({ service_account_id: "${google_service_account.app.name}" })),
    ),
  },
  "CI-K8S-1": {
    compliant: inKubernetes("kubernetes_service_account_v1", "app"),
    violating: inKubernetes(
      "kubernetes_service_account_v1",
      "app",
      withResource(kubernetes, "kubernetes_service_account_v1", "app", (sa) => ({ ...sa, metadata: { name: "app" } })),
    ),
  },
  "CI-K8S-2": {
    compliant: inKubernetes("kubernetes_service_account_v1", "app"),
    violating: inKubernetes(
      "kubernetes_service_account_v1",
      "app",
      withResource(kubernetes, "kubernetes_service_account_v1", "app", (sa) => ({ ...sa, automount_service_account_token: undefined })),
    ),
  },
  "CI-K8S-3": {
    compliant: inKubernetes("kubernetes_secret_v1", "credentials"),
    violating: inKubernetes(
      "kubernetes_secret_v1",
      "credentials",
      withResource(kubernetes, "kubernetes_secret_v1", "credentials", (s) => ({
        ...s,
        data: { "key.json": JSON.stringify({ type: "service_account", private_key_id: "x", private_key: "-----BEGIN PRIVATE KEY-----\n..." }) },
      })),
    ),
  },
  "CI-K8S-4": {
    compliant: inKubernetes("kubernetes_config_map_v1_data", "aws-auth"),
    violating: inKubernetes(
      "kubernetes_config_map_v1_data",
      "aws-auth",
      withResource(kubernetes, "kubernetes_config_map_v1_data", "aws-auth", (c) => ({
        ...c,
        data: {
          mapRoles:
            "- rolearn: arn:aws:iam::111111111111:role/nodes\n  username: system:node:{{EC2PrivateDNSName}}\n  groups: [system:bootstrappers, system:nodes]\n- rolearn: arn:aws:iam::111111111111:role/codebuild\n  username: codebuild\n  groups: [system:masters]\n",
        },
      })),
    ),
  },
  "CI-K8S-5": {
    compliant: inKubernetes("kubernetes_config_map_v1_data", "aws-auth"),
    violating: inKubernetes(
      "kubernetes_config_map_v1_data",
      "aws-auth",
      withResource(kubernetes, "kubernetes_config_map_v1_data", "aws-auth", (c) => ({
        ...c,
        data: { mapRoles: "- rolearn: arn:aws:iam::111111111111:role/developers\n  username: developers\n  groups: [developers]\n" },
      })),
    ),
  },
};

describe("the rule pack", () => {
  it("has a compliant and a non-compliant case for every rule, and unique ids", () => {
    const ids = ALL_RULES.map((rule) => rule.id);
    expect(new Set(ids).size).toBe(ids.length);
    // CI-DLV-*: their cases are in delivery-rules.test.ts.
    expect(Object.keys(CASES).sort()).toEqual(ids.filter((id) => !id.startsWith("CI-DLV-")).sort());
  });

  it("gives every rule a one-line message and remedy, and checkov ids only in checkov's format", () => {
    for (const rule of ALL_RULES) {
      expect(rule.id).toMatch(/^CI-[A-Z0-9]+-\d+$/);
      expect(rule.message).not.toMatch(/\n/);
      expect(rule.remedy).not.toMatch(/\n/);
      if (rule.checkov) expect(rule.checkov).toMatch(/^CKV2?_AWS_\d+$/);
    }
  });

  it.each(Object.entries(CASES))("%s: passes the compliant resource and reports the violating one", (id, { compliant, violating }) => {
    const rule = ruleById(id);
    expect(runRule(rule, compliant)).toEqual([]);
    const findings = runRule(rule, violating);
    expect(findings.length).toBeGreaterThan(0);
    for (const finding of findings) {
      expect(finding.ruleId).toBe(id);
      expect(finding.remedy).toBe(rule.remedy);
      expect(finding.resource).toBe(`${violating.type}.${violating.name}`);
    }
  });

  it("finds nothing at all in the compliant fixtures (the documented issuer exception applied)", () => {
    for (const [id, stack] of Object.entries({ "aws-test": aws, [ISSUER_STACK_ID]: issuer, "gcp-test": google, "k8s-test": kubernetes }))
      expect(unsuppressed(evaluateStack(id, stack))).toEqual([]);
  });
});

describe("details that matter", () => {
  it("reports a trust policy without aud as CI-IRSA-2 only, naming the missing condition", () => {
    const findings = evaluateStack("aws-test", withResource(aws, "aws_iam_role", "irsa", (role) => ({
      ...role,
      assume_role_policy: irsaTrust({ StringEquals: { [`${ISSUER}:sub`]: "system:serviceaccount:default:app" } }),
    })));
    expect(findings.map((finding) => [finding.ruleId, finding.detail])).toEqual([["CI-IRSA-2", "statement ServiceAccountWebIdentity has no StringEquals condition on <issuer>:aud"]]);
  });

  it("reports StringLike on aud even next to a StringEquals", () => {
    const findings = runRule(
      ruleById("CI-IRSA-2"),
      roleWithTrust(irsaTrust({ StringEquals: { [`${ISSUER}:aud`]: "sts.amazonaws.com", [`${ISSUER}:sub`]: "system:serviceaccount:default:app" }, StringLike: { [`${ISSUER}:aud`]: "*" } })),
    );
    expect(findings.map((finding) => finding.detail)).toEqual(["statement ServiceAccountWebIdentity conditions <issuer>:aud with StringLike"]);
  });

  it("checks the condition keys name the provider's issuer when the provider ARN is literal", () => {
    const other = "other.example.com/id/XYZ";
    const findings = runRule(
      ruleById("CI-IRSA-1"),
      roleWithTrust(irsaTrust({ StringEquals: { [`${other}:aud`]: "sts.amazonaws.com", [`${other}:sub`]: "system:serviceaccount:default:app" } })),
    );
    expect(findings.map((finding) => finding.detail)).toEqual([
      `statement ServiceAccountWebIdentity conditions name issuer ${other}, not the provider's ${ISSUER}`,
    ]);
  });

  it("accepts a cross-stack reference as the Federated principal", () => {
    const trust = irsaTrust().replace(/arn:aws:iam::111111111111:oidc-provider\/oidc.example.com\/id\/ABC/, "${data.terraform_remote_state.oidc.outputs.arn}");
    expect(runRule(ruleById("CI-IRSA-1"), roleWithTrust(trust))).toEqual([]);
  });

  it("accepts the no-Bucket-Keys KMS form (StringLike on the context) for external buckets", () => {
    const external = kmsStatement({
      StringEquals: { "kms:ViaService": "s3.ap-northeast-1.amazonaws.com" },
      StringLike: { "kms:EncryptionContext:aws:s3:arn": ["arn:aws:s3:::vendor", "arn:aws:s3:::vendor/*"] },
    });
    expect(runRule(ruleById("CI-IAM-3"), inlinePolicy(external))).toEqual([]);
  });

  it("flags an Allow with NotAction as a wildcard grant", () => {
    const findings = runRule(ruleById("CI-IAM-1"), inlinePolicy({ Sid: "AllBut", Effect: "Allow", NotAction: "iam:*", Resource: "*" }));
    expect(findings.map((finding) => finding.detail)).toEqual(["statement AllBut allows everything but iam:* (NotAction)"]);
  });

  it("does not treat the TLS Deny of s3:* as a wildcard grant", () => {
    expect(runRule(ruleById("CI-IAM-1"), inAws("aws_s3_bucket_policy", "data_policy"))).toEqual([]);
  });

  it("flags a role that attaches a forbidden policy through managed_policy_arns", () => {
    const role = inAws("aws_iam_role", "irsa", withResource(aws, "aws_iam_role", "irsa", (r) => ({ ...r, managed_policy_arns: ["arn:aws:iam::aws:policy/AdministratorAccess"] })));
    expect(runRule(ruleById("CI-IAM-4"), role).map((finding) => finding.detail)).toEqual(["attaches arn:aws:iam::aws:policy/AdministratorAccess"]);
  });

  it("flags system:masters in an EKS access entry and in a yamlencode()d mapRoles", () => {
    const entry = inKubernetes(
      "aws_eks_access_entry",
      "developers",
      withResource(kubernetes, "aws_eks_access_entry", "developers", (e) => ({ ...e, kubernetes_groups: ["system:masters"] })),
    );
    expect(runRule(ruleById("CI-K8S-4"), entry)).toHaveLength(1);
    const encoded = inKubernetes(
      "kubernetes_config_map_v1_data",
      "aws-auth",
      withResource(kubernetes, "kubernetes_config_map_v1_data", "aws-auth", (c) => ({
        ...c,
        data: { mapRoles: '${yamlencode([{rolearn = "x", groups = ["system:masters", "system:nodes"]}])}' },
      })),
    );
    expect(runRule(ruleById("CI-K8S-4"), encoded).map((finding) => finding.detail)).toEqual(["mapRoles mentions system:masters"]);
  });

  it("applies the issuer rules to any publicly readable bucket, not only the oidc stack's", () => {
    const publicData = withResource(aws, "aws_s3_bucket_policy", "data_policy", (p) => ({
      ...p,
      policy: document({ Sid: "Leak", Effect: "Allow", Principal: "*", Action: "s3:GetObject", Resource: "${aws_s3_bucket.data.arn}/*" }, tlsDeny("data")),
    }));
    const ids = unsuppressed(evaluateStack("aws-test", publicData)).map((finding) => finding.ruleId);
    expect(ids).toEqual(expect.arrayContaining(["CI-S3-10", "CI-ISSUER-1", "CI-ISSUER-2"]));
  });
});
