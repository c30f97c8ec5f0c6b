import { mkdtempSync, readFileSync, writeFileSync, mkdirSync } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { loadEnvironments, parseEnvironment } from "../lib/config/load";
import { environmentJsonSchema } from "../lib/config/schema";
import { configErrorOf, DEV_SELF_MANAGED_YAML, ENVIRONMENTS, environmentFromYaml, PROJECT_ROOT, runtimeKeyPair, shippedEnvironment } from "./helpers";

const configError = configErrorOf;

describe("shipped environments", () => {
  it("dev is a self-managed cluster whose issuer is its S3 bucket", () => {
    const dev = shippedEnvironment("dev");
    expect(dev.aws.region).toBe("ap-northeast-1");
    expect(dev.cluster.type).toBe("self-managed");
    expect(dev.cluster.issuerUrl).toBe("https://cluster-identity-dev-oidc-issuer.s3.ap-northeast-1.amazonaws.com");
    expect(dev.cluster.issuerHostPath).toBe("cluster-identity-dev-oidc-issuer.s3.ap-northeast-1.amazonaws.com");
    expect(dev.cluster.audiences).toEqual(["sts.amazonaws.com"]);
    expect(dev.backend).toEqual({ type: "local" });
  });

  it("prod is an EKS cluster with EKS's issuer", () => {
    const prod = shippedEnvironment("prod");
    expect(prod.cluster).toMatchObject({
      type: "eks",
      name: "gitlab-cluster",
      issuerUrl: "https://oidc.eks.ap-northeast-1.amazonaws.com/id/EXAMPLED539D4633E53DE1B716D3041E",
      issuerHostPath: "oidc.eks.ap-northeast-1.amazonaws.com/id/EXAMPLED539D4633E53DE1B716D3041E",
    });
  });

  it("config/schema.json is the JSON Schema of the zod schema (run `npm run schema` after changing it)", () => {
    const written = JSON.parse(readFileSync(path.join(PROJECT_ROOT, "config", "schema.json"), "utf8"));
    expect(written).toEqual(JSON.parse(JSON.stringify(environmentJsonSchema())));
  });

  it("every shipped config references the schema for editor completion", () => {
    for (const name of ENVIRONMENTS)
      expect(readFileSync(path.join(PROJECT_ROOT, "config", `${name}.yaml`), "utf8")).toMatch(
        /^# yaml-language-server: \$schema=\.\/schema\.json$/m,
      );
  });
});

describe("defaults", () => {
  it("resolves optional fields once", () => {
    const environment = environmentFromYaml(DEV_SELF_MANAGED_YAML);
    expect(environment.name).toBe("test");
    expect(environment.tags).toEqual({});
    expect(environment.aws.partition).toBe("aws");
    expect(environment.cluster.type === "self-managed" && environment.cluster.legacyEmptyKeyId).toBe(false);
    expect(environment.cluster.type === "self-managed" && environment.cluster.apiServerKeyDirectory).toBe("/srv/kubernetes/assets");
  });
});

describe("validation errors name the file, the field, the value and the rule", () => {
  it("a dotted issuer bucket", () => {
    expect(configError(DEV_SELF_MANAGED_YAML.replace("test-oidc-issuer", "test.oidc.issuer"))).toBe(
      'config/test.yaml:9:17: cluster.issuer.bucketName = "test.oidc.issuer": the issuer bucket name must not contain dots: the issuer URL is served by S3 virtual-hosted-style HTTPS, whose wildcard certificate does not cover dotted names',
    );
  });

  it("an account id that is not 12 digits, and a bad region, both reported at once", () => {
    expect(configError(DEV_SELF_MANAGED_YAML.replace('"111111111111"', "11111").replace("ap-northeast-1", "tokyo"))).toBe(
      [
        'config/test.yaml:3:14: aws.accountId = 11111: must be a string',
        'config/test.yaml:4:11: aws.region = "tokyo": an AWS region must look like "ap-northeast-1" (<area>-<direction>-<number>)',
      ].join("\n"),
    );
  });

  it("an EKS issuer URL with a trailing slash", () => {
    const yaml = `
aws: { accountId: "222222222222", region: us-east-1 }
cluster:
  type: eks
  name: prod
  issuerUrl: https://oidc.eks.us-east-1.amazonaws.com/id/ABC/
`;
    expect(configError(yaml)).toBe(
      'config/test.yaml:6:14: cluster.issuerUrl = "https://oidc.eks.us-east-1.amazonaws.com/id/ABC/": an OIDC issuer URL must be https://<host>[/<path>] with no query, fragment or trailing slash',
    );
  });

  it("an unknown field (a typo must not be silently ignored)", () => {
    expect(configError(DEV_SELF_MANAGED_YAML + "backnd: { type: local }\n")).toBe(
      'config/test.yaml:12:1: backnd = {"type":"local"}: unknown field; see config/schema.json for the fields this level accepts',
    );
  });

  it("a missing field", () => {
    expect(configError(DEV_SELF_MANAGED_YAML.replace("  name: test-kops\n", ""))).toBe(
      "config/test.yaml:6:3: cluster.name = (missing): required",
    );
  });

  it("an unknown cluster type", () => {
    expect(configError(DEV_SELF_MANAGED_YAML.replace("type: self-managed", "type: gke"))).toBe(
      'config/test.yaml:6:9: cluster.type = "gke": must be one of: eks, self-managed',
    );
  });

  it("a key file that does not exist", () => {
    expect(configError(DEV_SELF_MANAGED_YAML.replace("sa-signer-pkcs8.pub", "missing.pub"))).toBe(
      'config/test.yaml:11:7: cluster.serviceAccountKeyFiles[0] = "keys/dev/missing.pub": the key file cannot be read (ENOENT); paths are relative to the config file',
    );
  });

  it("a private key configured as the public key", () => {
    const { privateKeyFile } = runtimeKeyPair();
    expect(configError(DEV_SELF_MANAGED_YAML.replace("keys/dev/sa-signer-pkcs8.pub", privateKeyFile))).toBe(
      `config/test.yaml:11:7: cluster.serviceAccountKeyFiles[0] = ${JSON.stringify(privateKeyFile)}: the key file is a private key; configure only the public key (the private signing key stays on the control plane)`,
    );
  });

  it("an EC key", () => {
    expect(configError(DEV_SELF_MANAGED_YAML.replace("keys/dev/sa-signer-pkcs8.pub", "../__tests__/fixtures/ec-p256.pub"))).toBe(
      'config/test.yaml:11:7: cluster.serviceAccountKeyFiles[0] = "../__tests__/fixtures/ec-p256.pub": the key file must be an RSA key (RS256), not ec',
    );
  });

  it("the same key twice", () => {
    const yaml = DEV_SELF_MANAGED_YAML.replace(
      "    - keys/dev/sa-signer-pkcs8.pub\n",
      "    - keys/dev/sa-signer-pkcs8.pub\n    - ./keys/dev/sa-signer-pkcs8.pub\n",
    );
    expect(configError(yaml)).toMatch(
      /^config\/test\.yaml:11:5: cluster\.serviceAccountKeyFiles = \["keys\/dev\/sa-signer-pkcs8\.pub","\.\/keys\/dev\/sa-signer-pkcs8\.pub"\]: the key list lists the same key twice \(kid [A-Za-z0-9_-]{43}\)$/,
    );
  });

  it("more than 10 audiences", () => {
    const audiences = Array.from({ length: 11 }, (_, i) => `aud-${i}`);
    expect(configError(`${DEV_SELF_MANAGED_YAML}  audiences: ${JSON.stringify(audiences)}\n`)).toBe(
      `config/test.yaml:12:14: cluster.audiences = ${JSON.stringify(audiences)}: at most 10`,
    );
  });

  it("an s3 backend without a valid bucket", () => {
    expect(configError(`${DEV_SELF_MANAGED_YAML}backend: { type: s3, bucket: Bad_Bucket, region: ap-northeast-1 }\n`)).toBe(
      'config/test.yaml:12:30: backend.bucket = "Bad_Bucket": an S3 bucket name may contain only lowercase letters, digits, dots and hyphens',
    );
  });

  it("an environment name that cannot be a stack suffix", () => {
    expect(configError(DEV_SELF_MANAGED_YAML, "Prod_EU")).toBe(
      'config/Prod_EU.yaml = "Prod_EU": the environment name (the file name without .yaml) must be 1 to 16 characters of [a-z0-9-], starting with a letter: it ends every stack id',
    );
  });

  it("YAML that does not parse", () => {
    expect(configError("aws: [")).toBe("config/test.yaml:1:7: aws: invalid YAML: Flow sequence in block collection must be sufficiently indented and end with a ]");
  });

  it("duplicate keys in the YAML, with the line, the column and the key", () => {
    expect(configError(`${DEV_SELF_MANAGED_YAML}aws: {}\n`)).toBe('config/test.yaml:12:1: aws: invalid YAML: duplicate key "aws": map keys must be unique');
    expect(configError(DEV_SELF_MANAGED_YAML.replace("  region: ap-northeast-1\n", "  region: ap-northeast-1\n  region: us-east-1\n"))).toBe(
      'config/test.yaml:5:3: aws.region: invalid YAML: duplicate key "region": map keys must be unique',
    );
  });

  it("bad indentation, with the line, the column and the key", () => {
    expect(configError(DEV_SELF_MANAGED_YAML.replace("  region: ap-northeast-1", " region: ap-northeast-1"))).toBe(
      "config/test.yaml:4:1: region: invalid YAML: All mapping items must start at the same column",
    );
  });

  it("a tab used as indentation, with the line, the column and the key", () => {
    expect(configError(DEV_SELF_MANAGED_YAML.replace("  region: ap-northeast-1", "\tregion: ap-northeast-1"))).toBe(
      "config/test.yaml:4:1: region: invalid YAML: Tabs are not allowed as indentation",
    );
  });
});

describe("loadEnvironments", () => {
  it("loads every config/*.yaml by default, sorted", () => {
    expect(ENVIRONMENTS).toEqual([...ENVIRONMENTS].sort());
    expect(ENVIRONMENTS).toEqual(expect.arrayContaining(["dev", "prod"]));
    expect(loadEnvironments(PROJECT_ROOT).map((environment) => environment.name)).toEqual(ENVIRONMENTS);
  });

  it("loads only the selected ones", () => {
    expect(loadEnvironments(PROJECT_ROOT, "prod").map((environment) => environment.name)).toEqual(["prod"]);
  });

  it("names an unknown environment and the ones that exist", () => {
    expect(() => loadEnvironments(PROJECT_ROOT, "dev,no-such-env")).toThrow(
      `CLUSTER_IDENTITY_ENVIRONMENTS = "no-such-env": no config/no-such-env.yaml; available environments: ${ENVIRONMENTS.join(", ")}`,
    );
  });

  it("reports the problems of every file in one run", () => {
    const root = mkdtempSync(path.join(os.tmpdir(), "cluster-identity-config-"));
    mkdirSync(path.join(root, "config"));
    writeFileSync(path.join(root, "config", "a.yaml"), "aws: { accountId: '1', region: ap-northeast-1 }\ncluster: { type: eks, name: a, issuerUrl: 'https://x.example' }\n");
    writeFileSync(path.join(root, "config", "b.yaml"), "aws: { accountId: '2', region: ap-northeast-1 }\ncluster: { type: eks, name: b, issuerUrl: 'https://x.example' }\n");
    expect(() => loadEnvironments(root)).toThrow(
      [
        'config/a.yaml:1:19: aws.accountId = "1": an AWS account id must be exactly 12 digits',
        'config/b.yaml:1:19: aws.accountId = "2": an AWS account id must be exactly 12 digits',
      ].join("\n"),
    );
  });

  it("parses without a project file system for EKS clusters", () => {
    const environment = parseEnvironment(
      "aws: { accountId: '123456789012', region: eu-west-1 }\ncluster: { type: eks, name: c, issuerUrl: 'https://oidc.eks.eu-west-1.amazonaws.com/id/X' }\n",
      { file: "config/x.yaml", projectRoot: "/nonexistent" },
    );
    expect(environment.cluster.issuerHostPath).toBe("oidc.eks.eu-west-1.amazonaws.com/id/X");
  });
});
