/**
 * Bad inputs that once crashed the loader or slipped through it: each is refused with `file:line:col: field =
 * value: rule`, before anything is synthesized.
 */
import { cpSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { z } from "zod";
import { loadEnvironments } from "../lib/config/load";
import { iamPolicyArnRule, kmsKeyArnRule } from "../lib/config/rules";
import { ConfigSource, formatFieldPath, parseFieldPath } from "../lib/config/source";
import { plainZodMessage } from "../lib/config/zod-messages";
import { runSynth } from "../lib/run-synth";
import { configErrorOf, DEV_SELF_MANAGED_YAML, environmentFromYaml, PROJECT_ROOT } from "./helpers";

const withWorkload = (aws: string) => `${DEV_SELF_MANAGED_YAML}workloads:\n  - namespace: default\n    serviceAccount: app\n    aws: ${aws}\n`;

describe("buckets have one owner", () => {
  it("refuses any grant on the issuer bucket: a writer could replace keys.json", () => {
    const message =
      "the issuer bucket (cluster.issuer.bucketName) is never a workload grant target: a role that can write it could replace keys.json and forge a token for every ServiceAccount of the cluster";
    expect(configErrorOf(withWorkload("{ mode: irsa, s3: [{ bucket: test-oidc-issuer, access: read-write }] }"))).toBe(
      `config/test.yaml:15:39: workloads[0].aws.s3[0].bucket = "test-oidc-issuer": ${message}`,
    );
    expect(configErrorOf(withWorkload("{ mode: irsa, s3: [{ bucket: test-oidc-issuer, access: list }] }"))).toBe(
      `config/test.yaml:15:39: workloads[0].aws.s3[0].bucket = "test-oidc-issuer": ${message}`,
    );
  });

  it("refuses a data bucket named like the issuer bucket", () => {
    expect(configErrorOf(`${DEV_SELF_MANAGED_YAML}buckets:\n  - name: test-oidc-issuer\n`)).toBe(
      'config/test.yaml:13:11: buckets[0].name = "test-oidc-issuer": "test-oidc-issuer" is a data bucket here and also the issuer bucket (cluster.issuer.bucketName); a bucket has exactly one owner; rename one of them',
    );
  });

  it("refuses an issuer bucket named like a GitLab bucket", () => {
    const yaml = DEV_SELF_MANAGED_YAML.replace("bucketName: test-oidc-issuer", "bucketName: acme-gitlab-lfs") + "gitlab: { bucketPrefix: acme-gitlab }\n";
    expect(configErrorOf(yaml)).toBe(
      'config/test.yaml:9:17: cluster.issuer.bucketName = "acme-gitlab-lfs": "acme-gitlab-lfs" is the issuer bucket here and also GitLab\'s lfs bucket (gitlab.bucketPrefix); a bucket has exactly one owner; rename one of them',
    );
  });

  it("refuses the state bucket as a data bucket, and any grant on it", () => {
    const backend = "backend: { type: s3, bucket: acme-tfstate, region: ap-northeast-1 }\n";
    expect(configErrorOf(`${DEV_SELF_MANAGED_YAML}${backend}buckets:\n  - name: acme-tfstate\n`)).toBe(
      'config/test.yaml:14:11: buckets[0].name = "acme-tfstate": "acme-tfstate" is a data bucket here and also the state bucket (backend.bucket); a bucket has exactly one owner; rename one of them',
    );
    expect(configErrorOf(withWorkload("{ mode: irsa, s3: [{ bucket: acme-tfstate, access: read }] }") + backend)).toBe(
      'config/test.yaml:15:39: workloads[0].aws.s3[0].bucket = "acme-tfstate": the state bucket (backend.bucket) holds the Terraform state of every stack; it is never granted to a workload',
    );
  });
});

describe("ARNs are checked per field: service, resource type, no wildcards", () => {
  const grantWithKey = (arn: string) => withWorkload(`{ mode: irsa, s3: [{ bucket: vendor-feed, access: read, kmsKeyArn: "${arn}" }] }`);

  it("kmsKeyArn must be a KMS key ARN", () => {
    expect(configErrorOf(grantWithKey("arn:aws:s3:::vendor-feed"))).toBe(
      'config/test.yaml:15:77: workloads[0].aws.s3[0].kmsKeyArn = "arn:aws:s3:::vendor-feed": a KMS key ARN must be arn:<partition>:kms:<region>:<12-digit account>:key/<key id>',
    );
    expect(configErrorOf(grantWithKey("arn:aws:kms:ap-northeast-1:111111111111:key/*"))).toBe(
      'config/test.yaml:15:77: workloads[0].aws.s3[0].kmsKeyArn = "arn:aws:kms:ap-northeast-1:111111111111:key/*": a KMS key ARN must name one key: no wildcards',
    );
    expect(configErrorOf(grantWithKey("arn:aws:kms:ap-northeast-1:111111111111:alias/vendor"))).toBe(
      'config/test.yaml:15:77: workloads[0].aws.s3[0].kmsKeyArn = "arn:aws:kms:ap-northeast-1:111111111111:alias/vendor": a KMS alias ARN does not match the key in IAM policies; use the key ARN (aws kms describe-key --key-id alias/<name> --query KeyMetadata.Arn)',
    );
    const key = "arn:aws:kms:ap-northeast-1:111111111111:key/1234abcd-12ab-34cd-56ef-1234567890ab";
    expect(environmentFromYaml(grantWithKey(key)).catalog.workloads[0].aws!.s3[0].kmsKeyArn).toBe(key);
  });

  it("managedPolicyArns must be IAM policy ARNs without wildcards", () => {
    const yaml = withWorkload("\n      mode: irsa\n      managedPolicyArns:\n        - arn:aws:iam::aws:policy/*\n        - arn:aws:s3:::bucket").replace("aws: \n", "aws:\n");
    expect(configErrorOf(yaml)).toBe(
      [
        'config/test.yaml:18:11: workloads[0].aws.managedPolicyArns[0] = "arn:aws:iam::aws:policy/*": a managed policy ARN must name one policy: no wildcards',
        'config/test.yaml:19:11: workloads[0].aws.managedPolicyArns[1] = "arn:aws:s3:::bucket": a managed policy ARN must be arn:<partition>:iam::<12-digit account or aws>:policy/<path/name>',
      ].join("\n"),
    );
  });

  it("role ARN fields take role ARNs only", () => {
    expect(configErrorOf(DEV_SELF_MANAGED_YAML.replace("  region: ap-northeast-1\n", "  region: ap-northeast-1\n  assumeRoleArn: arn:aws:iam::111111111111:role/*\n"))).toBe(
      'config/test.yaml:5:18: aws.assumeRoleArn = "arn:aws:iam::111111111111:role/*": an IAM role ARN must be arn:<partition>:iam::<12-digit account>:role/<path/name>',
    );
  });

  it("rules, as pure checks", () => {
    expect(kmsKeyArnRule("arn:aws:kms:us-east-1:123456789012:key/mrk-1234abcd12ab34cd56ef1234567890ab")).toBeUndefined();
    expect(kmsKeyArnRule("arn:aws-us-gov:kms:us-gov-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab")).toBeUndefined();
    expect(kmsKeyArnRule("arn:aws:kms:us-east-1:123456789012:key/not-a-key-id")).toBe("a KMS key ARN must be arn:<partition>:kms:<region>:<12-digit account>:key/<key id>");
    expect(kmsKeyArnRule("*")).toBe("a KMS key ARN must name one key: no wildcards");
    expect(iamPolicyArnRule("arn:aws:iam::aws:policy/service-role/AmazonEKSClusterPolicy")).toBeUndefined();
    expect(iamPolicyArnRule("arn:aws:iam::123456789012:policy/team/reader")).toBeUndefined();
    expect(iamPolicyArnRule("arn:aws:iam::123456789012:role/reader")).toBe(
      "a managed policy ARN must be arn:<partition>:iam::<12-digit account or aws>:policy/<path/name>",
    );
    expect(iamPolicyArnRule("arn:aws:iam::aws:policy/Amazon?3FullAccess")).toBe("a managed policy ARN must name one policy: no wildcards");
  });
});

describe("inputs that used to crash the loader", () => {
  it("an alias bomb is a config error at the first alias", () => {
    const bomb = "a: &a [x,x,x,x,x,x,x,x,x]\nb: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]\nc: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]\nd: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]\n";
    expect(configErrorOf(bomb)).toBe("config/test.yaml:2:8: invalid YAML: more than 100 alias expansions (Excessive alias count indicates a resource exhaustion attack)");
  });

  it("a document over 1 MiB is not parsed", () => {
    const big = `${DEV_SELF_MANAGED_YAML}# ${"x".repeat(1024 * 1024)}\n`;
    expect(configErrorOf(big)).toBe(`config/test.yaml: the config file is ${Buffer.byteLength(big)} bytes; at most 1048576 (1 MiB) are read`);
  });

  it("an empty document names what is required", () => {
    // (cluster or clusters is checked once the document has the shape of an environment.)
    expect(configErrorOf("")).toBe("config/test.yaml:1:1: aws = (missing): required");
  });
});

describe("zod's wording in plain words", () => {
  it("for the schema's own fields", () => {
    expect(configErrorOf(withWorkload("{ mode: x }"))).toBe('config/test.yaml:15:18: workloads[0].aws.mode = "x": must be one of: irsa, pod-identity');
    expect(configErrorOf(withWorkload("{ mode: irsa, tokenExpirationSeconds: soon }"))).toBe(
      'config/test.yaml:15:48: workloads[0].aws.tokenExpirationSeconds = "soon": must be a number',
    );
    expect(configErrorOf(withWorkload("{ mode: irsa, tokenExpirationSeconds: 60 }"))).toBe(
      "config/test.yaml:15:48: workloads[0].aws.tokenExpirationSeconds = 60: at least 600",
    );
    expect(configErrorOf(withWorkload("{ mode: irsa, tokenExpirationSeconds: 600.5 }"))).toBe(
      "config/test.yaml:15:48: workloads[0].aws.tokenExpirationSeconds = 600.5: must be a whole number",
    );
    expect(configErrorOf(withWorkload("{ mode: irsa, s3: [{ bucket: a-bucket }] }"))).toBe(
      "config/test.yaml:15:29: workloads[0].aws.s3[0].access = (missing): required: one of list, read, read-write",
    );
  });

  it("as a pure mapping of zod's issues", () => {
    const schema = z.object({ s: z.string().max(3), l: z.array(z.string()).min(1), b: z.boolean(), t: z.literal("eks"), r: z.string().regex(/^a$/) });
    const result = schema.safeParse({ s: "long", l: [], b: "yes", t: "gke", r: "b" }, { error: plainZodMessage });
    expect(result.success || result.error.issues.map((issue) => `${formatFieldPath(issue.path)}: ${issue.message}`)).toEqual([
      "s: at most 3 characters",
      "l: must not be empty",
      "b: must be true or false",
      't: must be "eks"',
      "r: must match /^a$/",
    ]);
  });
});

describe("source positions", () => {
  const source = new ConfigSource("aws:\n  accountId: '1'\nworkloads:\n  - namespace: a\n    aws: { mode: irsa }\n  - &w { namespace: b }\nlast: *w\n");

  it("point at the value, the key, or for a missing field at the map it is missing from", () => {
    expect(source.positionOf(["aws", "accountId"])).toEqual({ line: 2, column: 14 });
    expect(source.positionOf(["aws", "accountId"], { key: true })).toEqual({ line: 2, column: 3 });
    expect(source.positionOf(["aws", "region"])).toEqual({ line: 2, column: 3 });
    expect(source.positionOf(["workloads", 0, "aws", "mode"])).toEqual({ line: 5, column: 18 });
    expect(source.positionOf(["workloads", 1, "serviceAccount"])).toEqual({ line: 6, column: 8 });
    // Through an alias: where the alias is written, naming it and the anchor (the anchor's 6:21 alone would point the
    // reader at a value that may be fine where it stands).
    expect(source.positionOf(["last", "namespace"])).toEqual({ line: 7, column: 7, through: "through the alias *w at 7:7, into &w at 6:21" });
    expect(source.positionOf(["nowhere", 3])).toEqual({ line: 1, column: 1 });
  });

  it("parse and format dotted field paths", () => {
    expect(parseFieldPath("workloads[0].aws.s3[12].bucket")).toEqual(["workloads", 0, "aws", "s3", 12, "bucket"]);
    expect(formatFieldPath(["workloads", 0, "aws", "s3", 12, "bucket"])).toBe("workloads[0].aws.s3[12].bucket");
  });
});

describe("across the environments of the repository", () => {
  /** A copy of this project's config/ with extra files. */
  function projectWith(files: Record<string, string>): string {
    const root = mkdtempSync(path.join(os.tmpdir(), "cluster-identity-envs-"));
    cpSync(path.join(PROJECT_ROOT, "config"), path.join(root, "config"), { recursive: true });
    for (const [name, text] of Object.entries(files)) writeFileSync(path.join(root, "config", name), text);
    return root;
  }
  const loadError = (root: string, selection?: string) => {
    try {
      loadEnvironments(root, selection);
    } catch (error) {
      return (error as Error).message;
    }
    throw new Error("expected a ConfigError");
  };
  const qa = (extra: string) =>
    `aws: { accountId: "333333333333", region: eu-west-1 }\ncluster: { type: eks, name: qa, issuerUrl: "https://oidc.eks.eu-west-1.amazonaws.com/id/QA" }\n${extra}`;

  it("refuses a bucket declared by two environments, even when only one of them is synthesized", () => {
    const root = projectWith({ "qa.yaml": qa("buckets:\n  - name: cluster-identity-dev-s3-echoer\n") });
    const devRule = '"cluster-identity-dev-s3-echoer" is a data bucket here and also a data bucket of config/qa.yaml (buckets[0].name); a bucket has exactly one owner; rename one of them';
    const qaRule = '"cluster-identity-dev-s3-echoer" is a data bucket here and also a data bucket of config/dev.yaml (buckets[0].name); a bucket has exactly one owner; rename one of them';
    expect(loadError(root, "qa")).toBe(`config/qa.yaml:4:11: buckets[0].name = "cluster-identity-dev-s3-echoer": ${qaRule}`);
    expect(loadError(root, "dev")).toBe(`config/dev.yaml:27:11: buckets[0].name = "cluster-identity-dev-s3-echoer": ${devRule}`);
    expect(loadEnvironments(root, "prod").map((environment) => environment.name)).toEqual(["prod"]);
  });

  it("refuses a grant on another environment's issuer bucket, and a GitLab prefix two environments share", () => {
    const root = projectWith({
      "qa.yaml": qa(
        "workloads:\n  - { namespace: default, serviceAccount: app, aws: { mode: irsa, s3: [{ bucket: cluster-identity-dev-oidc-issuer, access: read-write }] } }\ngitlab: { bucketPrefix: example-gitlab-eks }\n",
      ),
    });
    expect(loadError(root, "qa")).toBe(
      [
        'config/qa.yaml:5:25: gitlab.bucketPrefix = "example-gitlab-eks": "example-gitlab-eks-registry" is GitLab\'s registry bucket here and also GitLab\'s registry bucket of config/prod.yaml (gitlab.bucketPrefix); a bucket has exactly one owner; rename one of them',
        'config/qa.yaml:4:82: workloads[0].aws.s3[0].bucket = "cluster-identity-dev-oidc-issuer": the issuer bucket (config/dev.yaml: cluster.issuer.bucketName) is never a workload grant target: a role that can write it could replace keys.json and forge a token for every ServiceAccount of the cluster',
      ].join("\n"),
    );
  });

  it("lets environments share a state bucket (one key prefix each), but not use it as data", () => {
    const shared = "backend: { type: s3, bucket: cluster-identity-prod-tfstate, region: ap-northeast-1, keyPrefix: cluster-identity/qa }\n";
    expect(loadEnvironments(projectWith({ "qa.yaml": qa(shared) }), "qa").map((environment) => environment.name)).toEqual(["qa"]);
    expect(loadError(projectWith({ "qa.yaml": qa("buckets: [{ name: cluster-identity-prod-tfstate }]\n") }), "qa")).toBe(
      'config/qa.yaml:3:19: buckets[0].name = "cluster-identity-prod-tfstate": "cluster-identity-prod-tfstate" is a data bucket here and also the state bucket of config/prod.yaml (backend.bucket); a bucket has exactly one owner; rename one of them',
    );
  });

  it("reads every environment file: one that does not parse is named even when not selected", () => {
    expect(loadError(projectWith({ "qa.yaml": "aws:\n  a: 1\n  a: 2\n" }), "dev")).toBe(
      'config/qa.yaml:3:3: aws.a: invalid YAML: duplicate key "a": map keys must be unique (every environment file is read to check that no bucket or other global name has two owners)',
    );
  });

  it("refuses config/<env>.yml instead of ignoring it; other files in config/ are fine", () => {
    const root = projectWith({ "qa.yml": qa(""), "README.md": "# notes\n", "qa.yaml.bak": "x" });
    expect(loadError(root)).toBe("config/qa.yml: environment files end in .yaml; rename it to config/qa.yaml (as it is, it would be ignored)");
    expect(loadError(root, "dev")).toBe("config/qa.yml: environment files end in .yaml; rename it to config/qa.yaml (as it is, it would be ignored)");
  });

  it("a refused duplicate exits non-zero and writes nothing", () => {
    const root = projectWith({ "qa.yaml": qa("buckets:\n  - name: cluster-identity-dev-s3-echoer\n") });
    const stderr: string[] = [];
    const outdir = path.join(root, "cdktf.out");
    expect(runSynth({ projectRoot: root, selection: "dev", outdir, stderr: { write: (text: string) => stderr.push(text) } })).toBe(1);
    expect(stderr.join("")).toMatch(/^cluster-identity: invalid configuration; nothing was written:\nconfig\/dev\.yaml:27:11: buckets\[0\]\.name = /);
    expect(() => readdirSync(outdir)).toThrow(/ENOENT/);
    expect(readFileSync(path.join(root, "config", "dev.yaml"), "utf8")).toBe(readFileSync(path.join(PROJECT_ROOT, "config", "dev.yaml"), "utf8"));
  });
});
