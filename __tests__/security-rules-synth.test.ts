/** The rule pack on real synthesized stacks: the shipped environments, and the synth-time aspect. */
import { Construct } from "constructs";
import { Aspects, TerraformStack } from "cdktf";
import { IamRole } from "@cdktf/provider-aws/lib/iam-role";
import { IamRolePolicyAttachment } from "@cdktf/provider-aws/lib/iam-role-policy-attachment";
import { AwsProvider } from "@cdktf/provider-aws/lib/provider";
import { GoogleProvider } from "@cdktf/provider-google/lib/provider";
import { ProjectIamMember } from "@cdktf/provider-google/lib/project-iam-member";
import { SecurityRulesAspect, suppressRules } from "../constructs/security-rules-aspect";
import { createEnvironmentStacks } from "../lib/environment-stacks";
import { irsaTrustPolicy } from "../lib/iam/trust-policies";
import { policyDocument, toJson } from "../lib/iam/policy-document";
import { evaluateStack, evaluateStacks, Finding, StackJson, unsuppressed } from "../lib/rules";
import { CONFIG_CHOICE_RULE_IDS } from "../lib/rules/config-choices";
import { checkReport } from "../lib/rules/report";
import { SynthesisError, synthesizeApp } from "../lib/synthesize";
import { DEV_SELF_MANAGED_YAML, ENVIRONMENTS, environmentFromYaml, shippedEnvironment, shippedStacks } from "./helpers";
import { mkdtempSync, readdirSync, rmSync } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";

const shipped = shippedStacks();

describe("the shipped environments", () => {
  const findings = evaluateStacks(shipped as Record<string, StackJson>);

  it("have no unsuppressed finding", () => {
    expect(unsuppressed(findings).map((finding) => `${finding.ruleId} ${finding.stackId} ${finding.resource}: ${finding.detail}`)).toEqual([]);
  });

  it("accept exactly the issuer bucket's documented exception, with its reason", () => {
    const documented = findings.filter((finding) => finding.suppressed?.source === "documented-exception");
    // One issuer per self-managed environment (dev among them; config/*.yaml may add more).
    const selfManaged = ENVIRONMENTS.filter((name) => shippedEnvironment(name).cluster.type === "self-managed");
    expect(selfManaged).toContain("dev");
    const issuer = documented.filter((finding) => !finding.stackId.startsWith("delivery-"));
    expect([...new Set(issuer.map((finding) => `${finding.stackId} ${finding.constructPath} ${finding.ruleId}`))]).toEqual(
      selfManaged.flatMap((name) => [
        `oidc-${name} oidc-${name}/issuer/bucket CI-S3-2`,
        `oidc-${name} oidc-${name}/issuer/bucket CI-S3-4`,
        `oidc-${name} oidc-${name}/issuer/policy CI-S3-10`,
      ]),
    );
    for (const finding of issuer) expect(finding.suppressed?.reason).toMatch(/anonymous/);
  });

  it("accept on the pipeline's identities only workload rules that a CI-DLV rule replaces, and no CI-DLV finding", () => {
    const delivery = findings.filter((finding) => finding.stackId.startsWith("delivery-"));
    expect(delivery.length).toBeGreaterThan(0);
    expect(delivery.filter((finding) => finding.ruleId.startsWith("CI-DLV-"))).toEqual([]);
    for (const finding of delivery) {
      expect(finding.suppressed?.source).toBe("documented-exception");
      expect(finding.suppressed?.reason).toMatch(/^delivery: /);
    }
    const environments = ENVIRONMENTS.filter((name) => shippedEnvironment(name).delivery);
    expect([...new Set(delivery.map((finding) => finding.stackId))].sort()).toEqual(environments.map((name) => `delivery-${name}`).sort());
    // Which exceptions, exactly (one rule on one resource each): delivery-rules.test.ts "the shipped delivery stacks".
  });

  it("keep the compensating issuer rules enforced on the issuer (nothing suppresses CI-ISSUER-*)", () => {
    expect(findings.filter((finding) => finding.ruleId.startsWith("CI-ISSUER-")).map((finding) => [finding.ruleId, finding.suppressed?.reason])).toEqual([]);
  });

  it("accept config choices only through markers of the rules a config choice can accept", () => {
    const markers = findings.filter((finding) => finding.suppressed?.source === "resource-marker");
    expect(markers.map((finding) => `${finding.stackId} ${finding.ruleId}`)).toEqual(["gcp-wif-prod CI-GCP-8"]);
    for (const finding of markers) expect(CONFIG_CHOICE_RULE_IDS).toContain(finding.ruleId);
  });
});

/** Synthesizes into a throw-away directory; returns the parsed stacks or throws the SynthesisError. */
function synthesize(build: Parameters<typeof synthesizeApp>[0]): Record<string, StackJson> {
  const outdir = mkdtempSync(path.join(os.tmpdir(), "cluster-identity-rules-"));
  try {
    return { ...synthesizeApp(build, outdir).synthesized };
  } finally {
    rmSync(outdir, { recursive: true, force: true });
  }
}

/**
 * The error synth fails with. Under the cdktf CLI (CDKTF_CONTINUE_SYNTH_ON_ERROR_ANNOTATIONS set) that is
 * synthesizeApp's SynthesisError; without it cdktf itself throws on the first stack with error annotations.
 * Either way each error is a `[<construct path>] <message>` line.
 */
function synthesisError(build: Parameters<typeof synthesizeApp>[0]): string {
  try {
    synthesize(build);
  } catch (error) {
    if (error instanceof SynthesisError || (error instanceof Error && error.message.includes('Encountered Annotations with level "ERROR"'))) return error.message;
    throw error;
  }
  throw new Error("synthesis succeeded");
}

/**
 * As EnvironmentStack registers it: on every stack (cdktf does not apply an App's aspects to its stacks).
 * Skipped where a stack already carries it, so the tests hold before and after EnvironmentStack adds it.
 */
function checkEveryStack(app: Construct): void {
  for (const child of app.node.children)
    if (TerraformStack.isStack(child) && !Aspects.of(child).all.some((aspect) => aspect instanceof SecurityRulesAspect)) Aspects.of(child).add(new SecurityRulesAspect());
}

describe("SecurityRulesAspect", () => {
  it("lets a compliant environment synthesize", () => {
    const stacks = synthesize((app) => {
      createEnvironmentStacks(app, shippedEnvironment("dev"));
      checkEveryStack(app);
    });
    expect(Object.keys(stacks)).toContain("oidc-dev");
  });

  it("fails synth on a trust policy without aud, naming the rule, the construct and the remedy", () => {
    const message = synthesisError((app) => {
      const { awsWorkloads } = createEnvironmentStacks(app, environmentFromYaml(DEV_SELF_MANAGED_YAML));
      const trust = irsaTrustPolicy({ providerArn: "arn:aws:iam::111111111111:oidc-provider/x", issuerHostPath: "x", audience: "sts.amazonaws.com", subject: "system:serviceaccount:default:weak" });
      // Weakened on purpose: the sub condition only, as in seed 000.
      const weakened = policyDocument({ ...trust.Statement[0], Condition: { StringEquals: { "x:sub": "system:serviceaccount:default:weak" } } });
      new IamRole(awsWorkloads, "weak", { name: "weak", assumeRolePolicy: toJson(weakened) });
      checkEveryStack(app);
    });
    const errors = message.split("\n").filter((line) => line.startsWith("["));
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatch(/^\[aws-workloads-test\/weak\] CI-IRSA-2 aws_iam_role\.weak: IRSA trust: StringEquals on <issuer>:aud/);
    expect(errors[0]).toContain("has no StringEquals condition on <issuer>:aud");
    expect(errors[0]).toContain("Remedy: Add StringEquals");
  });

  describe("with a suppression marker (an explicit configuration choice)", () => {
    const build = (suppress: boolean) => (app: Parameters<Parameters<typeof synthesizeApp>[0]>[0]) => {
      const stack = new TerraformStack(app, "gcp-explicit");
      new GoogleProvider(stack, "google", { project: "acme" });
      const member = new ProjectIamMember(stack, "bigquery-admin", { project: "acme", role: "roles/bigquery.admin", member: "serviceAccount:x@acme.iam.gserviceaccount.com" });
      if (suppress) suppressRules(member, { ruleId: "CI-GCP-8", reason: "config/prod.yaml: workloads[default/x].gcp.allowAdminRoles is true" });
      Aspects.of(stack).add(new SecurityRulesAspect());
    };

    it("fails without it", () => {
      expect(synthesisError(build(false))).toContain("CI-GCP-8 google_project_iam_member.bigquery-admin");
    });

    it("synthesizes with it, and writes the marker where npm run check sees it", () => {
      const stack = synthesize(build(true))["gcp-explicit"];
      const member = stack.resource!.google_project_iam_member["bigquery-admin"];
      expect(member["//"]).toMatchObject({
        suppressions: [{ ruleId: "CI-GCP-8", reason: "config/prod.yaml: workloads[default/x].gcp.allowAdminRoles is true" }],
      });
      const [finding] = evaluateStack("gcp-explicit", stack);
      expect(finding.suppressed).toEqual({ ruleId: "CI-GCP-8", reason: "config/prod.yaml: workloads[default/x].gcp.allowAdminRoles is true", source: "resource-marker" });
    });
  });
});

describe("the environment pass at synth time", () => {
  it("fails synth on a cross-stack violation after every stack synthesized, naming rule, construct and remedy, and writes nothing", () => {
    const outdir = mkdtempSync(path.join(os.tmpdir(), "cluster-identity-rules-env-"));
    try {
      let message = "";
      try {
        synthesizeApp((app) => {
          const { awsWorkloads } = createEnvironmentStacks(app, environmentFromYaml(DEV_SELF_MANAGED_YAML));
          // A role this app does not create: only the environment pass knows every role of every stack.
          new IamRolePolicyAttachment(awsWorkloads, "foreign-attachment", { role: "OrganizationAccountAccessRole", policyArn: "arn:aws:iam::111111111111:policy/extra" });
        }, outdir);
      } catch (error) {
        if (!(error instanceof SynthesisError)) throw error;
        message = error.message;
      }
      expect(message.split("\n")).toEqual([
        expect.stringMatching(/^\[aws-workloads-test\/foreign-attachment\] CI-IAM-9 aws_iam_role_policy_attachment\.foreign-attachment: Policies are attached only to roles this app creates: attaches to OrganizationAccountAccessRole, not a role of environment test\. Why: .+\. Remedy: /),
      ]);
      expect(readdirSync(outdir)).toEqual([]);
    } finally {
      rmSync(outdir, { recursive: true, force: true });
    }
  });
});

describe("config choices recorded as markers", () => {
  const yaml = `${DEV_SELF_MANAGED_YAML}
buckets:
  - name: test-reports
workloads:
  - namespace: default
    serviceAccount: api-caller
    automountServiceAccountToken: true
    aws:
      mode: irsa
      awsManagedPolicies:
        - { arn: "arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess", reason: "the vendor agent checks for this exact policy" }
      s3:
        - { bucket: test-reports, access: read }
`;

  it("automountServiceAccountToken: true and an AWS managed policy synthesize, accepted with the config's reason", () => {
    const stacks = synthesize((app) => {
      createEnvironmentStacks(app, environmentFromYaml(yaml));
    });
    const accepted = evaluateStacks(stacks).filter((finding) => finding.suppressed);
    expect(accepted.filter((finding) => finding.suppressed?.source === "resource-marker").map((finding) => [finding.ruleId, finding.suppressed?.reason])).toEqual([
      ["CI-IAM-10", "config/test.yaml: default/api-caller aws.awsManagedPolicies: the vendor agent checks for this exact policy"],
      ["CI-K8S-6", "config/test.yaml: default/api-caller sets automountServiceAccountToken: true"],
    ]);
    // Without the choice's marker the same JSON is a finding.
    const [sa] = Object.values(stacks["k8s-identities-test"].resource!.kubernetes_service_account_v1) as Record<string, unknown>[];
    delete (sa["//"] as Record<string, unknown>).suppressions;
    expect(unsuppressed(evaluateStacks(stacks)).map((finding) => finding.ruleId)).toEqual(["CI-K8S-6"]);
  });
});

describe("suppressRules", () => {
  it("refuses a rule no config choice can accept", () => {
    expect(() =>
      synthesize((app) => {
        const stack = new TerraformStack(app, "s");
        new AwsProvider(stack, "aws", { region: "ap-northeast-1" });
        suppressRules(new IamRole(stack, "r", { assumeRolePolicy: "{}" }), { ruleId: "CI-IRSA-2", reason: "a long enough reason for the test" });
      }),
    ).toThrow("suppression of CI-IRSA-2: no config choice can accept it (only CI-GCP-8, CI-S3-3, CI-K8S-4, CI-K8S-6, CI-IAM-10)");
  });

  it("refuses a suppression without a real reason or of an unknown rule", () => {
    expect(() =>
      synthesize((app) => {
        const stack = new TerraformStack(app, "s");
        new AwsProvider(stack, "aws", { region: "ap-northeast-1" });
        suppressRules(new IamRole(stack, "r", { assumeRolePolicy: "{}" }), { ruleId: "CI-IRSA-2", reason: "ok" });
      }),
    ).toThrow(/needs a reason/);
    expect(() =>
      synthesize((app) => {
        const stack = new TerraformStack(app, "s");
        new AwsProvider(stack, "aws", { region: "ap-northeast-1" });
        suppressRules(new IamRole(stack, "r", { assumeRolePolicy: "{}" }), { ruleId: "CI-NOPE-1", reason: "a long enough reason for the test" });
      }),
    ).toThrow(/unknown rule CI-NOPE-1/);
  });
});

describe("the check report", () => {
  const finding: Finding = {
    ruleId: "CI-IAM-1",
    stackId: "aws-workloads-dev",
    resource: "aws_iam_policy.p",
    constructPath: "aws-workloads-dev/p",
    message: "No Allow of *",
    detail: "statement X allows s3:*|kms:*",
    why: "A wildcard grants what nobody reviewed",
    remedy: "List the actions",
    checkov: "CKV_AWS_63",
  };

  it("prints one table row per finding with rule, stack, resource, message, why and remedy (pipes escaped)", () => {
    expect(checkReport([finding], 1, 40)).toBe(
      [
        "40 rules over 1 stacks: 1 finding(s), 0 accepted with a reason.",
        "",
        "## Findings",
        "",
        "| rule | stack | resource | message | why | remedy |",
        "|---|---|---|---|---|---|",
        "| CI-IAM-1 (CKV_AWS_63) | aws-workloads-dev | aws_iam_policy.p | No Allow of *: statement X allows s3:*\\|kms:* | A wildcard grants what nobody reviewed | List the actions |",
        "",
      ].join("\n"),
    );
  });

  it("lists accepted findings with who accepted them and why", () => {
    const accepted = { ...finding, suppressed: { ruleId: "CI-IAM-1", reason: "because the test says so", source: "resource-marker" as const } };
    expect(checkReport([accepted], 1, 40)).toContain("| CI-IAM-1 | aws-workloads-dev | aws_iam_policy.p | statement X allows s3:*\\|kms:* | resource-marker | because the test says so |");
  });
});
