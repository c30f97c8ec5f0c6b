import {
  arnRule,
  audienceRule,
  awsAccountIdRule,
  awsRegionRule,
  bucketNameRule,
  gcpProjectNumberRule,
  gcpServiceAccountIdRule,
  iamRoleArnRule,
  iamRoleNameRule,
  issuerUrlRule,
  namespaceRule,
  objectNameRule,
  serviceAccountSubjectRule,
  workloadIdentityIdRule,
} from "../lib/config/rules";

describe("bucketNameRule", () => {
  it.each(["abc", "gitlab-registry", "a.b-c.1", "x".repeat(63)])("accepts %s", (name) => {
    expect(bucketNameRule(name)).toBeUndefined();
  });

  it.each([
    ["ab", "an S3 bucket name must be 3 to 63 characters long"],
    ["x".repeat(64), "an S3 bucket name must be 3 to 63 characters long"],
    ["My_Bucket", "an S3 bucket name may contain only lowercase letters, digits, dots and hyphens"],
    ["-abc", "an S3 bucket name must start and end with a lowercase letter or digit"],
    ["abc.", "an S3 bucket name must start and end with a lowercase letter or digit"],
    ["a..b", "an S3 bucket name must not contain two adjacent dots"],
    ["192.168.5.4", "an S3 bucket name must not be formatted as an IP address"],
    ["xn--abc", 'an S3 bucket name must not start with the reserved prefix "xn--"'],
    ["sthree-abc", 'an S3 bucket name must not start with the reserved prefix "sthree-"'],
    ["amzn-s3-demo-abc", 'an S3 bucket name must not start with the reserved prefix "amzn-s3-demo-"'],
    ["abc-s3alias", 'an S3 bucket name must not end with the reserved suffix "-s3alias"'],
    ["abc--ol-s3", 'an S3 bucket name must not end with the reserved suffix "--ol-s3"'],
    ["abc.mrap", 'an S3 bucket name must not end with the reserved suffix ".mrap"'],
    ["abc--x-s3", 'an S3 bucket name must not end with the reserved suffix "--x-s3"'],
  ])("rejects %s", (name, message) => {
    expect(bucketNameRule(name)).toBe(message);
  });

  it("rejects dots where the name becomes an HTTPS host (the issuer bucket)", () => {
    expect(bucketNameRule("my.issuer", { allowDots: false })).toBe(
      "the issuer bucket name must not contain dots: the issuer URL is served by S3 virtual-hosted-style HTTPS, whose wildcard certificate does not cover dotted names",
    );
    expect(bucketNameRule("my-issuer", { allowDots: false })).toBeUndefined();
  });
});

describe("Kubernetes names", () => {
  it("accepts DNS-1123 labels as namespaces and rejects the rest", () => {
    expect(namespaceRule("gitlab")).toBeUndefined();
    expect(namespaceRule("a".repeat(63))).toBeUndefined();
    const message =
      "a Kubernetes namespace must be a DNS-1123 label: at most 63 characters of [a-z0-9-], starting and ending with [a-z0-9]";
    expect(namespaceRule("a".repeat(64))).toBe(message);
    expect(namespaceRule("Gitlab")).toBe(message);
    expect(namespaceRule("git.lab")).toBe(message);
    expect(namespaceRule("-gitlab")).toBe(message);
  });

  it("accepts DNS-1123 subdomains as object names", () => {
    expect(objectNameRule("gitlab-global")).toBeUndefined();
    expect(objectNameRule("a.b-c")).toBeUndefined();
    const message =
      "a Kubernetes object name must be a DNS-1123 subdomain: at most 253 characters of [a-z0-9.-], each dot-separated part starting and ending with [a-z0-9]";
    expect(objectNameRule("a_b")).toBe(message);
    expect(objectNameRule("a..b")).toBe(message);
    expect(objectNameRule("a".repeat(254))).toBe(message);
  });

  it("limits the token subject to Google's 127 characters", () => {
    expect(serviceAccountSubjectRule("default", "s3-echoer")).toBeUndefined();
    const name = "n".repeat(100);
    expect(serviceAccountSubjectRule("default", name)).toBe(
      `the token subject "system:serviceaccount:default:${name}" is 130 characters; Google Workload Identity Federation accepts at most 127`,
    );
  });
});

describe("Google ids", () => {
  it("checks pool and provider ids", () => {
    expect(workloadIdentityIdRule("eks-pool")).toBeUndefined();
    expect(workloadIdentityIdRule("abc")).toBe("a workload identity pool or provider id must be 4 to 32 characters of [a-z0-9-]");
    expect(workloadIdentityIdRule("Pool")).toBe("a workload identity pool or provider id must be 4 to 32 characters of [a-z0-9-]");
    expect(workloadIdentityIdRule("gcp-pool")).toBe('a workload identity pool or provider id must not start with "gcp-" (reserved by Google)');
  });

  it("checks service account ids and project numbers", () => {
    expect(gcpServiceAccountIdRule("aws-oidc-sa")).toBeUndefined();
    const message = "a Google service account id must be 6 to 30 characters of [a-z0-9-], starting with a letter and not ending with a hyphen";
    expect(gcpServiceAccountIdRule("short")).toBe(message);
    expect(gcpServiceAccountIdRule("1abcdef")).toBe(message);
    expect(gcpServiceAccountIdRule("abcdef-")).toBe(message);
    expect(gcpServiceAccountIdRule("a".repeat(31))).toBe(message);
    expect(gcpProjectNumberRule("123456789012")).toBeUndefined();
    expect(gcpProjectNumberRule("my-project")).toBe("a Google project number must be digits only");
  });
});

describe("AWS formats", () => {
  it("checks role names, account ids and regions", () => {
    expect(iamRoleNameRule("r".repeat(64))).toBeUndefined();
    expect(iamRoleNameRule("r".repeat(65))).toBe("an IAM role name must be at most 64 characters (this one is 65)");
    expect(iamRoleNameRule("a role")).toBe("an IAM role name may contain only letters, digits and +=,.@_-");
    expect(awsAccountIdRule("123456789012")).toBeUndefined();
    expect(awsAccountIdRule("12345678901")).toBe("an AWS account id must be exactly 12 digits");
    expect(awsRegionRule("ap-northeast-1")).toBeUndefined();
    expect(awsRegionRule("us-gov-west-1")).toBeUndefined();
    expect(awsRegionRule("tokyo")).toBe('an AWS region must look like "ap-northeast-1" (<area>-<direction>-<number>)');
  });

  it("checks ARNs", () => {
    expect(arnRule("arn:aws:iam::aws:policy/ReadOnlyAccess")).toBeUndefined();
    expect(arnRule("arn:aws:s3:::bucket")).toBeUndefined();
    expect(arnRule("aws:iam::123")).toBe("an ARN must be well-formed: arn:<partition>:<service>:<region>:<account>:<resource>");
    expect(iamRoleArnRule("arn:aws:iam::123456789012:role/deploy")).toBeUndefined();
    expect(iamRoleArnRule("arn:aws:iam::123456789012:user/deploy")).toBe(
      "an IAM role ARN must be arn:<partition>:iam::<12-digit account>:role/<path/name>",
    );
  });

  it("checks issuer URLs and audiences", () => {
    expect(issuerUrlRule("https://oidc.eks.us-east-1.amazonaws.com/id/ABC123")).toBeUndefined();
    const message = "an OIDC issuer URL must be https://<host>[/<path>] with no query, fragment or trailing slash";
    expect(issuerUrlRule("https://oidc.eks.us-east-1.amazonaws.com/id/ABC123/")).toBe(message);
    expect(issuerUrlRule("http://issuer.example")).toBe(message);
    expect(issuerUrlRule("https://issuer.example?x=1")).toBe(message);
    expect(audienceRule("sts.amazonaws.com")).toBeUndefined();
    expect(audienceRule("two words")).toBe("an audience must be 1 to 255 characters without whitespace");
  });
});
