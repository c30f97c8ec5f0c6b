import { Testing } from "cdktf";
import { IamOpenidConnectProvider } from "@cdktf/provider-aws/lib/iam-openid-connect-provider";
import { AwsProvider } from "@cdktf/provider-aws/lib/provider";
import { S3Bucket } from "@cdktf/provider-aws/lib/s3-bucket";
import { S3BucketOwnershipControls } from "@cdktf/provider-aws/lib/s3-bucket-ownership-controls";
import { S3BucketPublicAccessBlock } from "@cdktf/provider-aws/lib/s3-bucket-public-access-block";
import { S3BucketServerSideEncryptionConfigurationA } from "@cdktf/provider-aws/lib/s3-bucket-server-side-encryption-configuration";
import { S3BucketVersioningA } from "@cdktf/provider-aws/lib/s3-bucket-versioning";
import { S3Object } from "@cdktf/provider-aws/lib/s3-object";
import { createLocalJWKSet, importPKCS8, jwtVerify, SignJWT, KeyLike } from "jose";
import { ISSUER_DOCUMENT_WRITE_ACTIONS } from "../constructs/s3-oidc-issuer";
import type { PolicyDocument } from "../lib/iam/policy-document";
import { identityDecision, policyOf } from "./iam-engine";
import {
  configErrorOf,
  DEV_SELF_MANAGED_YAML,
  environmentFromYaml,
  onlyResource,
  resourcesOfType,
  otherKeyPair,
  runtimeKeyPair,
  shippedEnvironment,
  stacksOf,
  SynthesizedStack,
} from "./helpers";

function synthesizedOidc(yaml = DEV_SELF_MANAGED_YAML): { json: string; parsed: SynthesizedStack } {
  const json = Testing.synth(stacksOf(environmentFromYaml(yaml)).oidc);
  return { json, parsed: JSON.parse(json) };
}

function s3ObjectContent(parsed: SynthesizedStack, key: string): unknown {
  const object = resourcesOfType(parsed, "aws_s3_object").find((o) => o.key === key);
  if (!object) throw new Error(`no aws_s3_object with key ${key}`);
  return JSON.parse(object.content as string);
}

describe("oidc stack, self-managed cluster", () => {
  const { json, parsed } = synthesizedOidc();
  const issuerUrl = "https://test-oidc-issuer.s3.ap-northeast-1.amazonaws.com";

  it("hosts the issuer in a versioned, SSE-S3, ACL-less bucket that cannot be destroyed by accident", () => {
    expect(json).toHaveResourceWithProperties(S3Bucket, { bucket: "test-oidc-issuer", lifecycle: { prevent_destroy: true } });
    expect(onlyResource(parsed, "aws_s3_bucket").force_destroy).toBeUndefined();
    expect(json).toHaveResourceWithProperties(S3BucketVersioningA, { versioning_configuration: { status: "Enabled" } });
    expect(json).toHaveResourceWithProperties(S3BucketServerSideEncryptionConfigurationA, {
      rule: [{ apply_server_side_encryption_by_default: { sse_algorithm: "AES256" } }],
    });
    expect(json).toHaveResourceWithProperties(S3BucketOwnershipControls, { rule: { object_ownership: "BucketOwnerEnforced" } });
    expect(resourcesOfType(parsed, "aws_s3_bucket_acl")).toHaveLength(0);
  });

  it("opens only the policy flags of the public access block", () => {
    expect(json).toHaveResourceWithProperties(S3BucketPublicAccessBlock, {
      block_public_acls: true,
      ignore_public_acls: true,
      block_public_policy: false,
      restrict_public_buckets: false,
    });
  });

  it("makes exactly the discovery document and the JWKS public, and denies plain HTTP", () => {
    const policy = JSON.parse(onlyResource(parsed, "aws_s3_bucket_policy").policy as string) as PolicyDocument;
    const bucketArn = "${aws_s3_bucket.issuer_bucket_CFD23B53.arn}";
    const allows = policy.Statement.filter((s) => s.Effect === "Allow");
    expect(allows).toEqual([
      {
        Sid: "PublicReadOfOidcDocuments",
        Effect: "Allow",
        Principal: "*",
        Action: "s3:GetObject",
        Resource: [`${bucketArn}/.well-known/openid-configuration`, `${bucketArn}/keys.json`],
      },
    ]);
    expect(policy.Statement).toContainEqual({
      Sid: "DenyInsecureTransport",
      Effect: "Deny",
      Principal: "*",
      Action: "s3:*",
      Resource: [bucketArn, `${bucketArn}/*`],
      Condition: { Bool: { "aws:SecureTransport": "false" } },
    });
  });

  it("publishes both documents as application/json", () => {
    expect(json).toHaveResourceWithProperties(S3Object, { key: ".well-known/openid-configuration", content_type: "application/json" });
    expect(json).toHaveResourceWithProperties(S3Object, { key: "keys.json", content_type: "application/json" });
    expect(resourcesOfType(parsed, "aws_s3_object")).toHaveLength(2);
    expect(s3ObjectContent(parsed, ".well-known/openid-configuration")).toMatchObject({
      issuer: issuerUrl,
      jwks_uri: `${issuerUrl}/keys.json`,
    });
  });

  it("registers the issuer with IAM: URL equal to the discovery issuer byte for byte, STS as audience", () => {
    const provider = onlyResource(parsed, "aws_iam_openid_connect_provider");
    const discovery = s3ObjectContent(parsed, ".well-known/openid-configuration") as { issuer: string };
    expect(provider.url).toBe(discovery.issuer);
    expect(provider.client_id_list).toEqual(["sts.amazonaws.com"]);
    // IAM must not trust the issuer before STS can read its keys.
    expect(provider.depends_on).toEqual(
      expect.arrayContaining([expect.stringMatching(/^aws_s3_object\.issuer_jwks_/), expect.stringMatching(/^aws_s3_bucket_policy\./)]),
    );
  });

  it("exposes what later stacks consume", () => {
    const { oidc } = stacksOf(environmentFromYaml(DEV_SELF_MANAGED_YAML));
    expect(oidc.issuerUrl).toBe(issuerUrl);
    expect(oidc.issuerHostPath).toBe("test-oidc-issuer.s3.ap-northeast-1.amazonaws.com");
    expect(oidc.audiences).toEqual(["sts.amazonaws.com"]);
    expect(oidc.providerArn).toMatch(/\$\{TfToken\[TOKEN\.\d+\]\}/);
  });

  it("outputs the issuer, the provider and the API-server flags", () => {
    expect(parsed.output?.issuer_url.value).toBe(issuerUrl);
    expect(parsed.output?.oidc_provider_arn.value).toBe("${aws_iam_openid_connect_provider.provider.arn}");
    expect(parsed.output?.api_server_flags.value).toEqual([
      `--service-account-issuer=${issuerUrl}`,
      `--api-audiences=${issuerUrl}`,
      "--service-account-key-file=/srv/kubernetes/assets/sa-signer-pkcs8.pub",
      "--service-account-signing-key-file=/srv/kubernetes/assets/service-account-signing-key",
    ]);
  });

  it("pins the provider to the account and tags everything", () => {
    expect(json).toHaveProviderWithProperties(AwsProvider, {
      region: "ap-northeast-1",
      allowed_account_ids: ["111111111111"],
      default_tags: [{ tags: { environment: "test", "managed-by": "cluster-identity" } }],
    });
    expect(parsed.provider?.aws[0].assume_role).toBeUndefined();
  });

  it("assumes the configured deploy role", () => {
    const yaml = DEV_SELF_MANAGED_YAML.replace(
      "  region: ap-northeast-1\n",
      "  region: ap-northeast-1\n  assumeRoleArn: arn:aws:iam::111111111111:role/deployer\n",
    );
    expect(synthesizedOidc(yaml).json).toHaveProviderWithProperties(AwsProvider, {
      assume_role: [{ role_arn: "arn:aws:iam::111111111111:role/deployer", session_name: "cluster-identity" }],
    });
  });
});

describe("oidc stack, EKS cluster", () => {
  const json = Testing.synth(stacksOf(shippedEnvironment("prod")).oidc);
  const parsed = JSON.parse(json) as SynthesizedStack;

  it("only registers EKS's issuer with IAM", () => {
    expect(json).toHaveResourceWithProperties(IamOpenidConnectProvider, {
      url: "https://oidc.eks.ap-northeast-1.amazonaws.com/id/EXAMPLED539D4633E53DE1B716D3041E",
      client_id_list: ["sts.amazonaws.com"],
    });
    expect(Object.keys(parsed.resource ?? {})).toEqual(["aws_iam_openid_connect_provider"]);
    expect(parsed.output?.api_server_flags).toBeUndefined();
  });
});

describe("backends", () => {
  const backendOf = (yaml: string) => (JSON.parse(Testing.synth(stacksOf(environmentFromYaml(yaml)).oidc)) as SynthesizedStack).terraform?.backend;

  it("keeps local state at a relative path that cross-stack remote state resolves the same on every machine", () => {
    expect(backendOf(DEV_SELF_MANAGED_YAML)).toEqual({ local: { path: "../../../terraform.oidc-test.tfstate" } });
  });

  it("uses S3 with native locking and encryption, one key per stack", () => {
    expect(backendOf(`${DEV_SELF_MANAGED_YAML}backend: { type: s3, bucket: tf-state, region: us-east-1 }\n`)).toEqual({
      s3: { bucket: "tf-state", key: "cluster-identity/test/oidc-test.tfstate", region: "us-east-1", encrypt: true, use_lockfile: true },
    });
  });

  it("uses GCS with one prefix per stack", () => {
    expect(backendOf(`${DEV_SELF_MANAGED_YAML}backend: { type: gcs, bucket: tf-state, prefix: teams/platform }\n`)).toEqual({
      gcs: { bucket: "tf-state", prefix: "teams/platform/oidc-test" },
    });
  });
});

describe("a token from the cluster verifies against the synthesized issuer (jose)", () => {
  // The cluster's signing key is made at run time: the repository holds no private key of a published key.
  const cluster = runtimeKeyPair();
  const { parsed } = synthesizedOidc(DEV_SELF_MANAGED_YAML.replace("keys/dev/sa-signer-pkcs8.pub", cluster.publicKeyFile));
  const discovery = s3ObjectContent(parsed, ".well-known/openid-configuration") as { issuer: string };
  const jwks = createLocalJWKSet(s3ObjectContent(parsed, "keys.json") as Parameters<typeof createLocalJWKSet>[0]);
  const provider = onlyResource(parsed, "aws_iam_openid_connect_provider");
  const kid = (s3ObjectContent(parsed, "keys.json") as { keys: { kid: string }[] }).keys[0].kid;

  async function serviceAccountToken(key: KeyLike, options: { kid?: string; issuer?: string } = {}): Promise<string> {
    // What the API server signs for a projected token with audience sts.amazonaws.com.
    return new SignJWT({ "kubernetes.io": { namespace: "default", serviceaccount: { name: "s3-echoer" } } })
      .setProtectedHeader({ alg: "RS256", kid: options.kid ?? kid })
      .setIssuer(options.issuer ?? discovery.issuer)
      .setAudience(provider.client_id_list as string[])
      .setSubject("system:serviceaccount:default:s3-echoer")
      .setIssuedAt()
      .setExpirationTime("1h")
      .sign(key);
  }
  const verify = (token: string) =>
    jwtVerify(token, jwks, { issuer: provider.url as string, audience: "sts.amazonaws.com", algorithms: ["RS256"] });

  it("accepts a token signed with the cluster's signing key", async () => {
    const signingKey = await importPKCS8(cluster.privateKeyPem, "RS256");
    const { payload } = await verify(await serviceAccountToken(signingKey));
    expect(payload.sub).toBe("system:serviceaccount:default:s3-echoer");
  });

  it("rejects a token signed with another key, even under the published kid", async () => {
    await expect(verify(await serviceAccountToken(otherKeyPair().privateKey))).rejects.toThrow("signature verification failed");
  });

  it("rejects a token whose kid is not published", async () => {
    const signingKey = cluster.privateKey;
    await expect(verify(await serviceAccountToken(signingKey, { kid: "unknown" }))).rejects.toThrow("no applicable key found in the JSON Web Key Set");
  });

  it("rejects a token from another issuer (a trailing slash is another issuer)", async () => {
    const signingKey = cluster.privateKey;
    await expect(verify(await serviceAccountToken(signingKey, { issuer: `${discovery.issuer}/` }))).rejects.toThrow('unexpected "iss" claim value');
  });
});

describe("issuer documents: only the deploying principal(s) may write them", () => {
  const DEPLOY = "arn:aws:iam::111111111111:role/deploy";
  const withIssuer = (extra: string, yaml = DEV_SELF_MANAGED_YAML) => yaml.replace("    bucketName: test-oidc-issuer\n", `    bucketName: test-oidc-issuer\n${extra}`);
  const bucketPolicyOf = (parsed: SynthesizedStack) => JSON.parse(onlyResource(parsed, "aws_s3_bucket_policy").policy as string) as PolicyDocument;
  const denyOf = (parsed: SynthesizedStack) => bucketPolicyOf(parsed).Statement.find((s) => s.Sid === "DenyDocumentWritesExceptDeployers");

  describe("with cluster.issuer.writers", () => {
    const { parsed } = synthesizedOidc(withIssuer(`    writers: ["${DEPLOY}", "arn:aws:iam::111111111111:role/ci/delivery"]\n`));
    const bucketArn = "arn:aws:s3:::test-oidc-issuer";
    const policy = policyOf(parsed, JSON.stringify(bucketPolicyOf(parsed)), { accountId: "111111111111", region: "ap-northeast-1" });
    // An account principal whose own policy allows every S3 write (s3:PutObject on *), as many app roles have.
    const broad: PolicyDocument = { Version: "2012-10-17", Statement: [{ Effect: "Allow", Action: ["s3:PutObject", "s3:DeleteObject", "s3:DeleteObjectVersion"], Resource: "*" }] };
    const decision = (principal: string, action: string, key: string) =>
      identityDecision([broad], {
        action,
        resource: `${bucketArn}/${key}`,
        accountId: "111111111111",
        principal,
        resourcePolicy: policy,
        context: { "aws:PrincipalArn": principal, "aws:SecureTransport": "true" },
      });

    it("denies writes, ACL changes, deletes and replication of both documents to everyone but the writers", () => {
      expect(denyOf(parsed)).toEqual({
        Sid: "DenyDocumentWritesExceptDeployers",
        Effect: "Deny",
        Principal: "*",
        Action: [...ISSUER_DOCUMENT_WRITE_ACTIONS],
        Resource: ["${aws_s3_bucket.issuer_bucket_CFD23B53.arn}/.well-known/openid-configuration", "${aws_s3_bucket.issuer_bucket_CFD23B53.arn}/keys.json"],
        Condition: { ArnNotEquals: { "aws:PrincipalArn": [DEPLOY, "arn:aws:iam::111111111111:role/ci/delivery"] } },
      });
      expect(ISSUER_DOCUMENT_WRITE_ACTIONS).toEqual(expect.arrayContaining(["s3:PutObject", "s3:DeleteObject", "s3:DeleteObjectVersion", "s3:PutObjectAcl"]));
    });

    it("an account principal with s3:PutObject cannot replace keys.json or the discovery document (IAM engine)", () => {
      const other = "arn:aws:iam::111111111111:role/app-with-s3-write";
      for (const key of ["keys.json", ".well-known/openid-configuration"]) {
        expect(decision(other, "s3:PutObject", key)).toBe("ExplicitlyDenied");
        expect(decision(other, "s3:DeleteObjectVersion", key)).toBe("ExplicitlyDenied");
      }
    });

    it("the deploying role still writes them, and other keys are not affected", () => {
      expect(decision(DEPLOY, "s3:PutObject", "keys.json")).toBe("Allowed");
      expect(decision("arn:aws:iam::111111111111:role/ci/delivery", "s3:DeleteObject", ".well-known/openid-configuration")).toBe("Allowed");
      expect(decision("arn:aws:iam::111111111111:role/app-with-s3-write", "s3:PutObject", "scratch/notes.txt")).toBe("Allowed");
    });

    it("writes the documents only after the policy, and says who the writers are", () => {
      for (const object of resourcesOfType(parsed, "aws_s3_object")) expect(object.depends_on).toEqual(expect.arrayContaining([expect.stringMatching(/^aws_s3_bucket_policy\./)]));
      expect(parsed.output?.issuer_document_writers.value).toEqual([DEPLOY, "arn:aws:iam::111111111111:role/ci/delivery"]);
    });
  });

  it("defaults to aws.assumeRoleArn, the role terraform apply runs as", () => {
    const yaml = DEV_SELF_MANAGED_YAML.replace('  accountId: "111111111111"\n', `  accountId: "111111111111"\n  assumeRoleArn: ${DEPLOY}\n`);
    const { parsed } = synthesizedOidc(yaml);
    expect(denyOf(parsed)?.Condition).toEqual({ ArnNotEquals: { "aws:PrincipalArn": [DEPLOY] } });
    expect(parsed.data?.aws_caller_identity).toBeUndefined();
  });

  it("defaults otherwise to the principal running terraform apply (its role ARN, not the session's)", () => {
    const { parsed } = synthesizedOidc();
    const [session] = Object.entries(parsed.data?.aws_iam_session_context ?? {});
    const [caller] = Object.keys(parsed.data?.aws_caller_identity ?? {});
    expect(session[1].arn).toBe(`\${data.aws_caller_identity.${caller}.arn}`);
    expect(denyOf(parsed)?.Condition).toEqual({ ArnNotEquals: { "aws:PrincipalArn": [`\${data.aws_iam_session_context.${session[0]}.issuer_arn}`] } });
  });

  it("refuses writers that leave out aws.assumeRoleArn, and a writer listed twice", () => {
    const yaml = DEV_SELF_MANAGED_YAML.replace('  accountId: "111111111111"\n', `  accountId: "111111111111"\n  assumeRoleArn: ${DEPLOY}\n`);
    expect(configErrorOf(withIssuer('    writers: ["arn:aws:iam::111111111111:role/other"]\n', yaml))).toBe(
      `config/test.yaml:11:14: cluster.issuer.writers = ["arn:aws:iam::111111111111:role/other"]: terraform apply runs as aws.assumeRoleArn (${DEPLOY}); list it too, or the bucket policy denies the deploy its own writes of the issuer documents`,
    );
    expect(configErrorOf(withIssuer(`    writers: ["${DEPLOY}", "${DEPLOY}"]\n`))).toBe(`config/test.yaml:10:56: cluster.issuer.writers[1] = "${DEPLOY}": listed twice`);
    expect(configErrorOf(withIssuer("    writers: [arn:aws:iam::111111111111:user/alice]\n"))).toBe(
      'config/test.yaml:10:15: cluster.issuer.writers[0] = "arn:aws:iam::111111111111:user/alice": an IAM role ARN must be arn:<partition>:iam::<12-digit account>:role/<path/name>',
    );
  });
});
