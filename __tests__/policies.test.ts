import { gitlabHelmValues } from "../lib/gitlab/helm-values";
import { gitlabPolicies } from "../lib/gitlab/policies";
import { kmsViaS3Statement, s3GrantStatements, sidOf } from "../lib/iam/s3-grants";
import { forbiddenManagedPolicy, isAwsManagedPolicyArn, policyArnAccount } from "../lib/iam/managed-policies";
import { eksClusterArn, irsaTrustPolicy, podIdentityTrustPolicy } from "../lib/iam/trust-policies";
import { environmentFromYaml, DEV_SELF_MANAGED_YAML } from "./helpers";

describe("trust policies", () => {
  it("IRSA: the provider as Federated principal, StringEquals on aud and sub", () => {
    expect(
      irsaTrustPolicy({ providerArn: "arn:aws:iam::1:oidc-provider/i.example/id/X", issuerHostPath: "i.example/id/X", audience: "sts.amazonaws.com", subject: "system:serviceaccount:a:b" }),
    ).toEqual({
      Version: "2012-10-17",
      Statement: [
        {
          Sid: "ServiceAccountWebIdentity",
          Effect: "Allow",
          Principal: { Federated: "arn:aws:iam::1:oidc-provider/i.example/id/X" },
          Action: "sts:AssumeRoleWithWebIdentity",
          Condition: { StringEquals: { "i.example/id/X:aud": "sts.amazonaws.com", "i.example/id/X:sub": "system:serviceaccount:a:b" } },
        },
      ],
    });
  });

  it("Pod Identity: pods.eks.amazonaws.com, AssumeRole + TagSession, account and session tags", () => {
    const clusterArn = eksClusterArn({ partition: "aws", region: "ap-northeast-1", accountId: "222222222222", clusterName: "c" });
    expect(clusterArn).toBe("arn:aws:eks:ap-northeast-1:222222222222:cluster/c");
    expect(podIdentityTrustPolicy({ accountId: "222222222222", clusterName: "c", clusterArn, namespace: "gitlab", serviceAccount: "gitlab-global" }).Statement).toEqual([
      {
        Sid: "EksPodIdentity",
        Effect: "Allow",
        Principal: { Service: "pods.eks.amazonaws.com" },
        Action: ["sts:AssumeRole", "sts:TagSession"],
        Condition: {
          StringEquals: {
            "aws:SourceAccount": "222222222222",
            "aws:RequestTag/eks-cluster-arn": "arn:aws:eks:ap-northeast-1:222222222222:cluster/c",
            "aws:RequestTag/eks-cluster-name": "c",
            "aws:RequestTag/kubernetes-namespace": "gitlab",
            "aws:RequestTag/kubernetes-service-account": "gitlab-global",
          },
        },
      },
    ]);
  });
});

describe("S3 grants", () => {
  const bucketArn = "arn:aws:s3:::b";

  it("list: ListBucket and GetBucketLocation on the bucket only", () => {
    expect(s3GrantStatements({ bucketArn, access: "list", sid: "B" })).toEqual([
      { Sid: "BList", Effect: "Allow", Action: ["s3:ListBucket", "s3:GetBucketLocation"], Resource: bucketArn },
    ]);
  });

  it("read: adds GetObject on the bucket's objects", () => {
    expect(s3GrantStatements({ bucketArn, access: "read", sid: "B" })[1]).toEqual({
      Sid: "BObjects",
      Effect: "Allow",
      Action: ["s3:GetObject", "s3:GetObjectVersion"],
      Resource: "arn:aws:s3:::b/*",
    });
  });

  it("read-write under a prefix: object actions and listing limited to the prefix", () => {
    const [list, objects] = s3GrantStatements({ bucketArn, access: "read-write", sid: "B", prefix: "team/" });
    expect(list.Condition).toEqual({ StringLike: { "s3:prefix": ["team/*"] } });
    expect(objects.Resource).toBe("arn:aws:s3:::b/team/*");
    expect(objects.Action).toEqual(["s3:GetObject", "s3:GetObjectVersion", "s3:PutObject", "s3:DeleteObject", "s3:AbortMultipartUpload", "s3:ListMultipartUploadParts"]);
  });

  it("KMS through S3 only, for the named buckets (bucket keys: bucket ARN as context)", () => {
    expect(kmsViaS3Statement({ keyArn: "k", region: "ap-northeast-1", bucketArns: [bucketArn], write: true, sid: "K" })).toEqual({
      Sid: "K",
      Effect: "Allow",
      Action: ["kms:Decrypt", "kms:GenerateDataKey"],
      Resource: "k",
      Condition: { StringEquals: { "kms:ViaService": "s3.ap-northeast-1.amazonaws.com", "kms:EncryptionContext:aws:s3:arn": [bucketArn] } },
    });
  });

  it("KMS without bucket keys admits the object ARNs of the buckets", () => {
    expect(kmsViaS3Statement({ keyArn: "k", region: "r", bucketArns: [bucketArn], write: false, bucketKeys: false, sid: "K" }).Condition).toEqual({
      StringEquals: { "kms:ViaService": "s3.r.amazonaws.com" },
      StringLike: { "kms:EncryptionContext:aws:s3:arn": [bucketArn, `${bucketArn}/*`] },
    });
  });

  it("builds statement ids from names", () => {
    expect(sidOf("cluster-identity-dev.s3-echoer")).toBe("ClusterIdentityDevS3Echoer");
  });
});

describe("GitLab", () => {
  const arn = (purpose: string) => `arn:aws:s3:::g-${purpose}`;
  const all = ["registry", "lfs", "artifacts", "uploads", "packages", "backups", "tmp"] as const;

  it("splits the buckets between the objects, backups and registry policies", () => {
    const policies = gitlabPolicies({ buckets: all.map((purpose) => ({ purpose, arn: arn(purpose) })), keyArn: "k", region: "r" });
    expect(policies.objects?.Statement[0].Resource).toEqual(["lfs", "artifacts", "uploads", "packages", "tmp"].map((p) => `${arn(p)}/*`));
    expect(policies.backups?.Statement[0].Resource).toEqual([`${arn("backups")}/*`]);
    expect(policies.registry?.Statement[0].Resource).toEqual([arn("registry")]);
    expect(policies.kms.Statement[0].Condition?.StringEquals?.["kms:EncryptionContext:aws:s3:arn"]).toEqual(all.map(arn));
  });

  it("omits the policies of buckets that are not configured", () => {
    const policies = gitlabPolicies({ buckets: [{ purpose: "artifacts", arn: arn("artifacts") }], keyArn: "k", region: "r" });
    expect(policies.registry).toBeUndefined();
    expect(policies.backups).toBeUndefined();
  });

  it("renders the Helm values fragment", () => {
    const environment = environmentFromYaml(`${DEV_SELF_MANAGED_YAML}gitlab:\n  bucketPrefix: acme-gitlab\n  buckets: [registry, artifacts, backups, tmp]\n`);
    expect(gitlabHelmValues(environment.catalog.gitlab!)).toBe(
      [
        "global:",
        "  serviceAccount:",
        "    enabled: true",
        "    create: false",
        "    name: gitlab-global",
        "  appConfig:",
        "    object_store:",
        "      enabled: true",
        "      proxy_download: true",
        "      connection:",
        "        secret: gitlab-object-storage",
        "        key: connection",
        "    artifacts:",
        "      bucket: acme-gitlab-artifacts",
        "    backups:",
        "      bucket: acme-gitlab-backups",
        "      tmpBucket: acme-gitlab-tmp",
        "  registry:",
        "    bucket: acme-gitlab-registry",
        "registry:",
        "  storage:",
        "    secret: gitlab-registry-storage",
        "    key: config",
        "",
      ].join("\n"),
    );
  });
});

describe("managed policy ARNs", () => {
  it("tells AWS managed policies from customer-managed ones, with their account", () => {
    expect(isAwsManagedPolicyArn("arn:aws:iam::aws:policy/ReadOnlyAccess")).toBe(true);
    expect(isAwsManagedPolicyArn("arn:aws-cn:iam::aws:policy/job-function/ViewOnlyAccess")).toBe(true);
    expect(isAwsManagedPolicyArn("arn:aws:iam::222222222222:policy/aws/ReadOnlyAccess")).toBe(false);
    expect(policyArnAccount("arn:aws:iam::aws:policy/ReadOnlyAccess")).toBe("aws");
    expect(policyArnAccount("arn:aws:iam::222222222222:policy/team/x")).toBe("222222222222");
    expect(policyArnAccount("arn:aws:s3:::bucket")).toBeUndefined();
  });

  it("knows the forbidden four, under a path too", () => {
    expect(forbiddenManagedPolicy("arn:aws:iam::aws:policy/job-function/AdministratorAccess")).toBe("AdministratorAccess");
    expect(forbiddenManagedPolicy("arn:aws:iam::aws:policy/ReadOnlyAccess")).toBeUndefined();
  });
});
