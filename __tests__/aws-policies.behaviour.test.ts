/**
 * The synthesized AWS policies, evaluated by an IAM policy engine: each identity can do what its workload
 * needs and nothing next to it.
 */
import type { PolicyDocument } from "../lib/iam/policy-document";
import { ApplyTimeValues, identityDecision, policiesFor, policyOf, trustDecision } from "./iam-engine";
import { resourcesOfType, shippedEnvironment, SynthesizedStack, shippedStacks } from "./helpers";

const environments = { dev: shippedEnvironment("dev"), prod: shippedEnvironment("prod") };
const stacks = shippedStacks();

function synthesized(environmentName: "dev" | "prod") {
  return {
    environment: environments[environmentName],
    awsWorkloads: stacks[`aws-workloads-${environmentName}`],
    gitlabStorage: stacks[`gitlab-storage-${environmentName}`],
  };
}

function roleByName(stack: SynthesizedStack, name: string): Record<string, unknown> {
  const role = resourcesOfType(stack, "aws_iam_role").find((r) => r.name === name);
  if (!role) throw new Error(`no role ${name}`);
  return role;
}

function inlinePolicyOf(stack: SynthesizedStack, roleName: string, values: ApplyTimeValues): PolicyDocument {
  const roleId = Object.entries(stack.resource?.aws_iam_role ?? {}).find(([, role]) => role.name === roleName)?.[0];
  const inline = resourcesOfType(stack, "aws_iam_role_policy").find((p) => p.role === `\${aws_iam_role.${roleId}.id}`);
  if (!inline) throw new Error(`no inline policy for ${roleName}`);
  return policyOf(stack, inline.policy as string, values);
}

describe("IRSA trust (dev, self-hosted issuer)", () => {
  const { environment, awsWorkloads } = synthesized("dev");
  const hostPath = environment.cluster.issuerHostPath;
  const values = { accountId: "111111111111", region: "ap-northeast-1", oidcProviderArn: `arn:aws:iam::111111111111:oidc-provider/${hostPath}` };
  const trust = policyOf(awsWorkloads, roleByName(awsWorkloads, "dev-kops-default-s3-echoer").assume_role_policy as string, values);
  const assume = (sub: string, aud = "sts.amazonaws.com", principal = values.oidcProviderArn) =>
    trustDecision(trust, {
      action: "sts:AssumeRoleWithWebIdentity",
      principal,
      roleArn: "arn:aws:iam::111111111111:role/dev-kops-default-s3-echoer",
      accountId: "111111111111",
      context: { [`${hostPath}:sub`]: sub, [`${hostPath}:aud`]: aud },
    });

  it("lets the bound ServiceAccount's token assume the role", () => {
    expect(assume("system:serviceaccount:default:s3-echoer")).toBe("Allowed");
  });

  it("refuses another ServiceAccount, even in the same namespace", () => {
    expect(assume("system:serviceaccount:default:default")).toBe("ImplicitlyDenied");
    expect(assume("system:serviceaccount:other:s3-echoer")).toBe("ImplicitlyDenied");
  });

  it("refuses the right ServiceAccount with a token minted for another audience", () => {
    expect(assume("system:serviceaccount:default:s3-echoer", "https://kubernetes.default.svc")).toBe("ImplicitlyDenied");
  });

  it("refuses tokens of another issuer", () => {
    expect(assume("system:serviceaccount:default:s3-echoer", "sts.amazonaws.com", "arn:aws:iam::111111111111:oidc-provider/other.example")).toBe("ImplicitlyDenied");
  });
});

describe("IRSA trust (prod, EKS issuer with a path)", () => {
  const { environment, awsWorkloads } = synthesized("prod");
  const hostPath = environment.cluster.issuerHostPath;
  const values = { accountId: "222222222222", region: "ap-northeast-1", oidcProviderArn: `arn:aws:iam::222222222222:oidc-provider/${hostPath}` };
  const trust = policyOf(awsWorkloads, roleByName(awsWorkloads, "gitlab-cluster-default-irsa-for-google-cloud").assume_role_policy as string, values);
  const assume = (sub: string) =>
    trustDecision(trust, {
      action: "sts:AssumeRoleWithWebIdentity",
      principal: values.oidcProviderArn,
      roleArn: "arn:aws:iam::222222222222:role/x",
      accountId: "222222222222",
      context: { [`${hostPath}:sub`]: sub, [`${hostPath}:aud`]: "sts.amazonaws.com" },
    });

  it("admits exactly seed 001's ServiceAccount", () => {
    expect(assume("system:serviceaccount:default:irsa-for-google-cloud")).toBe("Allowed");
    expect(assume("system:serviceaccount:default:s3-full-access")).toBe("ImplicitlyDenied");
  });
});

describe("workload grants", () => {
  const { awsWorkloads: dev } = synthesized("dev");
  const devValues = { accountId: "111111111111", region: "ap-northeast-1", oidcProviderArn: "arn:aws:iam::111111111111:oidc-provider/x" };
  const echoer = inlinePolicyOf(dev, "dev-kops-default-s3-echoer", devValues);
  const bucket = "arn:aws:s3:::cluster-identity-dev-s3-echoer";
  const [key, keyResource] = Object.entries(dev.resource?.aws_kms_key ?? {})[0];
  const keyArn = `arn:aws:kms:ap-northeast-1:111111111111:key/${key}`;
  const keyPolicy = policyOf(dev, keyResource.policy as string, devValues);
  const can = (action: string, resource: string, context?: Record<string, string>) =>
    identityDecision([echoer], { action, resource, accountId: "111111111111", ...(context ? { context } : {}), ...(action.startsWith("kms:") ? { resourcePolicy: keyPolicy } : {}) });

  it("s3-echoer reads and writes objects of its own bucket only", () => {
    expect(can("s3:PutObject", `${bucket}/hello.txt`)).toBe("Allowed");
    expect(can("s3:GetObject", `${bucket}/hello.txt`)).toBe("Allowed");
    expect(can("s3:ListBucket", bucket)).toBe("Allowed");
    expect(can("s3:PutObject", "arn:aws:s3:::cluster-identity-dev-gitlab-artifacts/hello.txt")).toBe("ImplicitlyDenied");
    expect(can("s3:DeleteBucket", bucket)).toBe("ImplicitlyDenied");
    expect(can("s3:PutBucketPolicy", bucket)).toBe("ImplicitlyDenied");
  });

  it("s3-echoer uses the data key only through S3 and only for its bucket", () => {
    const viaS3 = { "kms:ViaService": "s3.ap-northeast-1.amazonaws.com", "kms:EncryptionContext:aws:s3:arn": bucket };
    expect(can("kms:GenerateDataKey", keyArn, viaS3)).toBe("Allowed");
    expect(can("kms:GenerateDataKey", keyArn, { ...viaS3, "kms:EncryptionContext:aws:s3:arn": "arn:aws:s3:::another" })).toBe("ImplicitlyDenied");
    expect(can("kms:Decrypt", keyArn, { "kms:EncryptionContext:aws:s3:arn": bucket })).toBe("ImplicitlyDenied");
    expect(can("kms:ScheduleKeyDeletion", keyArn, viaS3)).toBe("ImplicitlyDenied");
  });

  it("irsa-for-google-cloud may list the s3cmd bucket but not read it", () => {
    const { awsWorkloads: prod } = synthesized("prod");
    const values = { accountId: "222222222222", region: "ap-northeast-1", oidcProviderArn: "arn:aws:iam::222222222222:oidc-provider/x" };
    const policy = inlinePolicyOf(prod, "gitlab-cluster-default-irsa-for-google-cloud", values);
    const s3cmd = "arn:aws:s3:::cluster-identity-prod-s3cmd-test";
    expect(identityDecision([policy], { action: "s3:ListBucket", resource: s3cmd, accountId: "222222222222" })).toBe("Allowed");
    expect(identityDecision([policy], { action: "s3:GetObject", resource: `${s3cmd}/a`, accountId: "222222222222" })).toBe("ImplicitlyDenied");
  });
});

describe("GitLab storage (prod: EKS Pod Identity)", () => {
  const { gitlabStorage } = synthesized("prod");
  const stack = gitlabStorage!;
  const values = { accountId: "222222222222", region: "ap-northeast-1" };
  const policies = Object.fromEntries(
    resourcesOfType(stack, "aws_iam_policy").map((p) => [(p.name as string).replace(/^example-gitlab-eks-s3-|-policy$/g, ""), policyOf(stack, p.policy as string, values)]),
  ) as Record<"objects" | "backups" | "registry" | "kms", PolicyDocument>;
  const all = Object.values(policies);
  const bucket = (purpose: string) => `arn:aws:s3:::example-gitlab-eks-${purpose}`;
  const [key, keyResource] = Object.entries(stack.resource?.aws_kms_key ?? {})[0];
  const keyArn = `arn:aws:kms:ap-northeast-1:222222222222:key/${key}`;
  const keyPolicy = policyOf(stack, keyResource.policy as string, values);
  const can = (documents: PolicyDocument[], action: string, resource: string, context?: Record<string, string>) =>
    identityDecision(documents, { action, resource, accountId: "222222222222", ...(context ? { context } : {}), ...(action.startsWith("kms:") ? { resourcePolicy: keyPolicy } : {}) });

  it("has the four policies of the seed", () => {
    expect(Object.keys(policies).sort()).toEqual(["backups", "kms", "objects", "registry"]);
  });

  it("the role can put an object in artifacts but not in a bucket it was not granted", () => {
    expect(can(all, "s3:PutObject", `${bucket("artifacts")}/job.log`)).toBe("Allowed");
    expect(can(all, "s3:PutObject", "arn:aws:s3:::cluster-identity-prod-s3cmd-test/job.log")).toBe("ImplicitlyDenied");
    expect(can(all, "s3:PutObject", "arn:aws:s3:::example-gitlab-eks-artifacts-copy/job.log")).toBe("ImplicitlyDenied");
  });

  it("the backups policy cannot touch registry", () => {
    expect(can([policies.backups], "s3:PutObject", `${bucket("backups")}/1700000000_gitlab_backup.tar`)).toBe("Allowed");
    for (const action of ["s3:GetObject", "s3:PutObject", "s3:DeleteObject"])
      expect(can([policies.backups], action, `${bucket("registry")}/docker/registry/v2/blobs/x`)).toBe("ImplicitlyDenied");
    expect(can([policies.backups], "s3:ListBucket", bucket("registry"))).toBe("ImplicitlyDenied");
  });

  it("the registry policy gives the storage driver what it needs on registry only", () => {
    expect(can([policies.registry], "s3:ListBucketMultipartUploads", bucket("registry"))).toBe("Allowed");
    expect(can([policies.registry], "s3:AbortMultipartUpload", `${bucket("registry")}/x`)).toBe("Allowed");
    expect(can([policies.registry], "s3:GetObject", `${bucket("artifacts")}/x`)).toBe("ImplicitlyDenied");
  });

  it("KMS GenerateDataKey is allowed with a GitLab bucket's encryption context and denied for another bucket", () => {
    const viaS3 = (context: string) => ({ "kms:ViaService": "s3.ap-northeast-1.amazonaws.com", "kms:EncryptionContext:aws:s3:arn": context });
    for (const purpose of ["registry", "lfs", "artifacts", "uploads", "packages", "backups", "tmp"])
      expect(can([policies.kms], "kms:GenerateDataKey", keyArn, viaS3(bucket(purpose)))).toBe("Allowed");
    expect(can([policies.kms], "kms:GenerateDataKey", keyArn, viaS3("arn:aws:s3:::cluster-identity-prod-s3cmd-test"))).toBe("ImplicitlyDenied");
    expect(can([policies.kms], "kms:GenerateDataKey", keyArn, viaS3(`${bucket("artifacts")}/object`))).toBe("ImplicitlyDenied");
    expect(can([policies.kms], "kms:GenerateDataKey", keyArn, { "kms:ViaService": "dynamodb.ap-northeast-1.amazonaws.com", "kms:EncryptionContext:aws:s3:arn": bucket("artifacts") })).toBe("ImplicitlyDenied");
  });

  describe("Pod Identity trust", () => {
    const trust = policyOf(stack, roleByName(stack, "example-gitlab-eks-eks-global").assume_role_policy as string, values);
    const tags = {
      "aws:SourceAccount": "222222222222",
      "aws:RequestTag/eks-cluster-arn": "arn:aws:eks:ap-northeast-1:222222222222:cluster/gitlab-cluster",
      "aws:RequestTag/eks-cluster-name": "gitlab-cluster", "aws:RequestTag/kubernetes-namespace": "gitlab",
      "aws:RequestTag/kubernetes-service-account": "gitlab-global",
    };
    const assume = (action: string, context: Record<string, string>, principal = "pods.eks.amazonaws.com") =>
      trustDecision(trust, { action, principal, roleArn: "arn:aws:iam::222222222222:role/example-gitlab-eks-eks-global", accountId: "222222222222", context });

    it("lets EKS Pod Identity assume the role and tag the session for gitlab/gitlab-global", () => {
      expect(assume("sts:AssumeRole", tags)).toBe("Allowed");
      expect(assume("sts:TagSession", tags)).toBe("Allowed");
    });

    it("refuses another ServiceAccount, namespace, cluster (name or ARN), account or principal", () => {
      expect(assume("sts:AssumeRole", { ...tags, "aws:RequestTag/kubernetes-service-account": "default" })).toBe("ImplicitlyDenied");
      expect(assume("sts:AssumeRole", { ...tags, "aws:RequestTag/kubernetes-namespace": "default" })).toBe("ImplicitlyDenied");
      expect(assume("sts:AssumeRole", { ...tags, "aws:RequestTag/eks-cluster-name": "other" })).toBe("ImplicitlyDenied");
      // The same cluster name in another region of the account: only the ARN tells them apart.
      expect(assume("sts:AssumeRole", { ...tags, "aws:RequestTag/eks-cluster-arn": "arn:aws:eks:us-east-1:222222222222:cluster/gitlab-cluster" })).toBe("ImplicitlyDenied");
      expect(assume("sts:AssumeRole", { ...tags, "aws:SourceAccount": "999999999999" })).toBe("ImplicitlyDenied");
    });

    it("refuses a cluster of the same name in another region of the account", () => {
      const sameNameElsewhere = { ...tags, "aws:RequestTag/eks-cluster-arn": "arn:aws:eks:us-east-1:222222222222:cluster/gitlab-cluster" };
      expect(assume("sts:AssumeRole", sameNameElsewhere)).toBe("ImplicitlyDenied");
      expect(assume("sts:TagSession", sameNameElsewhere)).toBe("ImplicitlyDenied");
      const { "aws:RequestTag/eks-cluster-arn": _arn, ...withoutArn } = tags;
      expect(assume("sts:AssumeRole", withoutArn)).toBe("ImplicitlyDenied");
      expect(assume("sts:AssumeRole", tags, "ec2.amazonaws.com")).toBe("ImplicitlyDenied");
      expect(assume("sts:AssumeRoleWithWebIdentity", tags)).toBe("ImplicitlyDenied");
    });
  });
});

describe("GitLab storage (dev: IRSA on a self-managed cluster)", () => {
  const { environment, gitlabStorage } = synthesized("dev");
  const hostPath = environment.cluster.issuerHostPath;
  const values = { accountId: "111111111111", region: "ap-northeast-1", oidcProviderArn: `arn:aws:iam::111111111111:oidc-provider/${hostPath}` };
  const trust = policyOf(gitlabStorage!, roleByName(gitlabStorage!, "cluster-identity-dev-gitlab-eks-global").assume_role_policy as string, values);

  it("admits gitlab/gitlab-global's token only", () => {
    const assume = (sub: string) =>
      trustDecision(trust, {
        action: "sts:AssumeRoleWithWebIdentity",
        principal: values.oidcProviderArn,
        roleArn: "arn:aws:iam::111111111111:role/x",
        accountId: "111111111111",
        context: { [`${hostPath}:sub`]: sub, [`${hostPath}:aud`]: "sts.amazonaws.com" },
      });
    expect(assume("system:serviceaccount:gitlab:gitlab-global")).toBe("Allowed");
    expect(assume("system:serviceaccount:gitlab:default")).toBe("ImplicitlyDenied");
  });
});

describe("the engine harness (iam-engine.ts)", () => {
  it("hands the engine every statement that can match the request's service, and only those; the decision is the same", () => {
    const statements = [
      { Sid: "Prefix", Effect: "Allow", Action: ["kms:Decrypt", "s3:Get*"], Resource: "*" },
      { Sid: "Everything", Effect: "Allow", Action: "*", Resource: "*" },
      { Sid: "ServiceWildcard", Effect: "Deny", Action: "S3*:Put*", Resource: "*" },
      { Sid: "NotAction", Effect: "Deny", NotAction: "iam:*", Resource: "*" },
      { Sid: "OtherService", Effect: "Allow", Action: ["kms:Decrypt", "s3express:CreateSession"], Resource: "*" },
    ] as const;
    const policies: PolicyDocument[] = [{ Version: "2012-10-17", Statement: statements }, { Version: "2012-10-17", Statement: [statements[4]] }];
    expect(policiesFor(policies, "s3:GetObject").flatMap((policy) => policy.Statement.map((statement) => statement.Sid))).toEqual(["Prefix", "Everything", "ServiceWildcard", "NotAction"]);
    expect(policiesFor(policies, "KMS:Decrypt").flatMap((policy) => policy.Statement.map((statement) => statement.Sid))).toEqual(["Prefix", "Everything", "NotAction", "OtherService", "OtherService"]);
    // Cached per policy list and service: the same answer again.
    expect(policiesFor(policies, "s3:PutObject")).toBe(policiesFor(policies, "s3:GetObject"));
    const request = { resource: "arn:aws:s3:::bucket/key", accountId: "111111111111" };
    expect(identityDecision(policies, { ...request, action: "s3:PutObject" })).toBe("ExplicitlyDenied");
    expect(identityDecision(policies, { ...request, action: "s3:GetObject" })).toBe("ExplicitlyDenied");
    expect(identityDecision([policies[1]], { ...request, action: "s3:GetObject" })).toBe("ImplicitlyDenied");
  });
});
