import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { cliConfig, findMirror, mirrorHas, providerAddress, requiredProviders } from "../lib/terraform/mirror";
import { OFFLINE_DEPLOYER_ARN, offlineOverride } from "../lib/terraform/offline";

describe("offline provider mirror", () => {
  it("expands cdktf's short provider sources to registry addresses", () => {
    expect(providerAddress("aws")).toBe("registry.terraform.io/hashicorp/aws");
    expect(providerAddress("hashicorp/google")).toBe("registry.terraform.io/hashicorp/google");
    expect(providerAddress("example.com/acme/thing")).toBe("example.com/acme/thing");
  });

  it("reads a stack's required providers", () => {
    expect(
      requiredProviders({ terraform: { required_providers: { kubernetes: { source: "kubernetes", version: "2.36.0" }, aws: { source: "aws", version: "5.100.0" } } } }),
    ).toEqual([
      { address: "registry.terraform.io/hashicorp/aws", version: "5.100.0" },
      { address: "registry.terraform.io/hashicorp/kubernetes", version: "2.36.0" },
    ]);
  });

  it("finds a mirror and tells which provider versions it holds", () => {
    const empty = mkdtempSync(path.join(os.tmpdir(), "mirror-empty-"));
    const mirror = mkdtempSync(path.join(os.tmpdir(), "mirror-"));
    mkdirSync(path.join(mirror, "registry.terraform.io/hashicorp/aws/5.100.0/linux_amd64"), { recursive: true });
    writeFileSync(path.join(mirror, "registry.terraform.io/hashicorp/aws/5.100.0/linux_amd64/terraform-provider-aws_v5.100.0_x5"), "");
    expect(findMirror([path.join(empty, "missing"), empty, mirror])).toBe(mirror);
    expect(findMirror([empty])).toBeUndefined();
    const aws = { address: "registry.terraform.io/hashicorp/aws", version: "5.100.0" };
    expect(mirrorHas(mirror, aws, "linux_amd64")).toBe(true);
    expect(mirrorHas(mirror, { ...aws, version: "5.99.0" }, "linux_amd64")).toBe(false);
    expect(mirrorHas(mirror, { address: "registry.terraform.io/hashicorp/google", version: "6.0.0" }, "linux_amd64")).toBe(false);
  });

  it("writes a CLI config that installs only from the mirror and caches plugins", () => {
    expect(cliConfig("/m", "/c")).toBe(
      'provider_installation {\n  filesystem_mirror {\n    path    = "/m"\n    include = ["*/*/*"]\n  }\n}\nplugin_cache_dir = "/c"\n',
    );
  });
});

describe("offline override: the deploying principal of the issuer bucket policy", () => {
  const stack = {
    provider: { aws: [{}] },
    data: {
      aws_caller_identity: { deployer: {} },
      aws_iam_session_context: { "deployer-session": { arn: "${data.aws_caller_identity.deployer.arn}" } },
    },
  };

  it("stands in a literal role ARN for the session context and skips the STS call", () => {
    expect(offlineOverride({ stack, standIns: {} }).data).toEqual({
      aws_iam_session_context: { "deployer-session": { arn: OFFLINE_DEPLOYER_ARN } },
      aws_caller_identity: { deployer: { count: 0 } },
    });
  });

  it("keeps a caller identity that something else reads", () => {
    const reads = { ...stack, output: { account: { value: "${data.aws_caller_identity.deployer.account_id}" } } };
    expect(offlineOverride({ stack: reads, standIns: {} }).data).toEqual({ aws_iam_session_context: { "deployer-session": { arn: OFFLINE_DEPLOYER_ARN } } });
  });

  it("adds nothing for stacks without them", () => {
    expect(offlineOverride({ stack: { provider: { aws: [{}] } }, standIns: {} }).data).toBeUndefined();
  });
});

describe("offline override: fake credentials for every configuration of the AWS provider", () => {
  it("overrides the default configuration alone as one block, and each alias by its own block", () => {
    const fake = (override: Record<string, unknown>) => (override.provider as { aws: unknown }).aws;
    expect(fake(offlineOverride({ stack: { provider: { aws: [{ region: "eu-west-1" }] } }, standIns: {} }))).toMatchObject({ access_key: "AKIAOFFLINEPLAN00000" });
    const aliased = fake(offlineOverride({ stack: { provider: { aws: [{ region: "eu-west-1" }, { alias: "untagged", region: "eu-west-1" }] } }, standIns: {} })) as Record<string, unknown>[];
    expect(aliased.map((block) => [block.alias, block.access_key, block.skip_credentials_validation])).toEqual([
      [undefined, "AKIAOFFLINEPLAN00000", true],
      ["untagged", "AKIAOFFLINEPLAN00000", true],
    ]);
  });
});
