/** Config errors of the workload catalog, GCP and GitLab sections: exact messages. */
import { impersonationRole, IMPERSONATION_ROLES } from "../lib/gcp/roles";
import { configErrorOf, DEV_SELF_MANAGED_YAML, environmentFromYaml } from "./helpers";

const EKS_YAML = `
aws: { accountId: "222222222222", region: ap-northeast-1 }
cluster: { type: eks, name: prod, issuerUrl: "https://oidc.eks.ap-northeast-1.amazonaws.com/id/ABC" }
`;

const errorOf = (yaml: string) => configErrorOf(yaml);

const workload = (body: string) => `workloads:\n${body}`;

describe("workload catalog", () => {
  it("resolves defaults: role name, owned buckets, token path", () => {
    const environment = environmentFromYaml(
      `${DEV_SELF_MANAGED_YAML}buckets: [{ name: data-bucket }]\n${workload(
        "  - { namespace: default, serviceAccount: app, aws: { mode: irsa, s3: [{ bucket: data-bucket, access: read }, { bucket: external-bucket, access: list }] } }\n",
      )}`,
    );
    expect(environment.catalog.workloads[0]).toEqual({
      id: "default/app",
      namespace: "default",
      serviceAccount: "app",
      createNamespace: false,
      automountServiceAccountToken: false,
      subject: "system:serviceaccount:default:app",
      clusters: ["test-kops"],
      aws: {
        mode: "irsa",
        roleName: "test-kops-default-app",
        s3: [
          { bucket: "data-bucket", access: "read", owned: true },
          { bucket: "external-bucket", access: "list", owned: false },
        ],
        managedPolicyArns: [],
        awsManagedPolicies: [],
      },
    });
    expect(environment.catalog.buckets).toEqual([{ name: "data-bucket", noncurrentVersionExpirationDays: 90 }]);
  });

  it("refuses EKS Pod Identity on a self-managed cluster", () => {
    expect(errorOf(`${DEV_SELF_MANAGED_YAML}${workload("  - { namespace: default, serviceAccount: app, aws: { mode: pod-identity } }\n")}`)).toBe(
      'config/test.yaml:13:61: workloads[0].aws.mode = "pod-identity": EKS Pod Identity needs an EKS cluster; use irsa on a self-managed cluster',
    );
  });

  it("refuses GitLab through Pod Identity on a self-managed cluster", () => {
    expect(errorOf(`${DEV_SELF_MANAGED_YAML}gitlab: { bucketPrefix: acme-gitlab, mode: pod-identity }\n`)).toBe(
      'config/test.yaml:12:44: gitlab.mode = "pod-identity": EKS Pod Identity needs an EKS cluster; use irsa on a self-managed cluster',
    );
  });

  it("refuses an invalid bucket name in a grant", () => {
    expect(errorOf(`${DEV_SELF_MANAGED_YAML}${workload("  - { namespace: default, serviceAccount: app, aws: { mode: irsa, s3: [{ bucket: Data_Bucket, access: read }] } }\n")}`)).toBe(
      'config/test.yaml:13:82: workloads[0].aws.s3[0].bucket = "Data_Bucket": an S3 bucket name may contain only lowercase letters, digits, dots and hyphens',
    );
  });

  it("refuses GitLab bucket names that the prefix makes too long", () => {
    const prefix = "a".repeat(58);
    expect(errorOf(`${DEV_SELF_MANAGED_YAML}gitlab: { bucketPrefix: ${prefix}, buckets: [registry], roleName: gitlab }\n`)).toBe(
      `config/test.yaml:12:25: gitlab.bucketPrefix = "${prefix}": the registry bucket "${prefix}-registry" is invalid: an S3 bucket name must be 3 to 63 characters long`,
    );
  });

  it("refuses duplicate workloads", () => {
    expect(
      errorOf(`${DEV_SELF_MANAGED_YAML}${workload("  - { namespace: default, serviceAccount: app }\n  - { namespace: default, serviceAccount: app }\n")}`),
    ).toBe('config/test.yaml:14:5: workloads[1] = "default/app": duplicate workload: workloads[0] already declares this namespace/ServiceAccount');
  });

  it("refuses two workloads whose resources would share logical ids", () => {
    expect(errorOf(`${DEV_SELF_MANAGED_YAML}${workload("  - { namespace: team-a, serviceAccount: app }\n  - { namespace: team, serviceAccount: a-app }\n")}`)).toBe(
      'config/test.yaml:14:5: workloads[1] = "team/a-app": team-a/app and team/a-app both name their resources "team-a-app"; rename one namespace or ServiceAccount',
    );
  });

  it("refuses a role name over 64 characters, given or defaulted", () => {
    const long = "r".repeat(65);
    expect(errorOf(`${DEV_SELF_MANAGED_YAML}${workload(`  - { namespace: default, serviceAccount: app, aws: { mode: irsa, roleName: ${long} } }\n`)}`)).toBe(
      `config/test.yaml:13:77: workloads[0].aws.roleName = "${long}": an IAM role name must be at most 64 characters (this one is 65)`,
    );
    const serviceAccount = "s".repeat(50);
    expect(errorOf(`${DEV_SELF_MANAGED_YAML}${workload(`  - { namespace: default, serviceAccount: ${serviceAccount}, aws: { mode: irsa } }\n`)}`)).toBe(
      `config/test.yaml:13:100: workloads[0].aws.roleName = "test-kops-default-${serviceAccount}": the default role name <cluster>-<namespace>-<serviceAccount> is invalid (an IAM role name must be at most 64 characters (this one is 68)); set aws.roleName`,
    );
  });

  it("refuses two workloads with the same role name", () => {
    expect(
      errorOf(`${DEV_SELF_MANAGED_YAML}${workload("  - { namespace: a, serviceAccount: app, aws: { mode: irsa, roleName: r } }\n  - { namespace: b, serviceAccount: app, aws: { mode: irsa, roleName: r } }\n")}`),
    ).toBe('config/test.yaml:14:71: workloads[1].aws.roleName = "r": role name already used by a/app');
  });

  const withPolicies = (policies: string) =>
    `${EKS_YAML}${workload(`  - { namespace: default, serviceAccount: s3cmd, aws: { mode: irsa, ${policies} } }\n`)}`;
  const REASON = "vendor agent reads its own CloudWatch metrics";

  it.each(["arn:aws:iam::aws:policy/ReadOnlyAccess", "arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess", "arn:aws:iam::aws:policy/SecurityAudit"])(
    "refuses the AWS managed policy %s in managedPolicyArns: it needs an allowlist entry with a reason",
    (arn) => {
      expect(errorOf(withPolicies(`managedPolicyArns: ['arn:aws:iam::222222222222:policy/team-policy', '${arn}']`))).toBe(
        `config/test.yaml:5:137: workloads[0].aws.managedPolicyArns[1] = "${arn}": an AWS managed policy is account-wide and attached only as an explicit choice: list it under aws.awsManagedPolicies as { arn, reason }, or grant least-privilege access with aws.s3`,
      );
    },
  );

  it("keeps managedPolicyArns for customer-managed policies of the environment's account only", () => {
    const environment = environmentFromYaml(withPolicies("managedPolicyArns: ['arn:aws:iam::222222222222:policy/team/reports-policy']"));
    expect(environment.catalog.workloads[0].aws?.managedPolicyArns).toEqual(["arn:aws:iam::222222222222:policy/team/reports-policy"]);
    expect(errorOf(withPolicies("managedPolicyArns: ['arn:aws:iam::999999999999:policy/their-policy']"))).toBe(
      `config/test.yaml:5:89: workloads[0].aws.managedPolicyArns[0] = "arn:aws:iam::999999999999:policy/their-policy": a customer-managed policy must belong to the environment's account 222222222222`,
    );
  });

  it("accepts an AWS managed policy allowlisted with a reason", () => {
    const environment = environmentFromYaml(withPolicies(`awsManagedPolicies: [{ arn: 'arn:aws:iam::aws:policy/CloudWatchReadOnlyAccess', reason: '${REASON}' }]`));
    expect(environment.catalog.workloads[0].aws?.awsManagedPolicies).toEqual([{ arn: "arn:aws:iam::aws:policy/CloudWatchReadOnlyAccess", reason: REASON }]);
  });

  it.each(["AdministratorAccess", "IAMFullAccess", "AmazonS3FullAccess", "PowerUserAccess", "job-function/AdministratorAccess"])(
    "refuses %s in awsManagedPolicies whatever the reason",
    (name) => {
      const refused = name.replace(/^.*\//, "");
      expect(errorOf(withPolicies(`awsManagedPolicies: [{ arn: 'arn:aws:iam::aws:policy/${name}', reason: '${REASON}' }]`))).toBe(
        `config/test.yaml:5:97: workloads[0].aws.awsManagedPolicies[0].arn = "arn:aws:iam::aws:policy/${name}": ${refused} is never attached to a workload role, whatever the reason; grant least-privilege access with aws.s3 instead`,
      );
    },
  );

  it("refuses an allowlist entry without a real reason, a non-AWS ARN, a wildcard, and the same policy twice", () => {
    expect(errorOf(withPolicies("awsManagedPolicies: [{ arn: 'arn:aws:iam::aws:policy/ReadOnlyAccess', reason: 'needed' }]"))).toBe(
      'config/test.yaml:5:147: workloads[0].aws.awsManagedPolicies[0].reason = "needed": must say why in at least 20 characters (it is written next to the attachment and shown as accepted)',
    );
    expect(errorOf(withPolicies("awsManagedPolicies: [{ arn: 'arn:aws:iam::aws:policy/ReadOnlyAccess' }]"))).toMatch(
      /^config\/test\.yaml:5:90: workloads\[0\]\.aws\.awsManagedPolicies\[0\]\.reason = \(missing\): required$/,
    );
    for (const arn of ["arn:aws:iam::222222222222:policy/team-policy", "arn:aws:iam::aws:policy/*"])
      expect(errorOf(withPolicies(`awsManagedPolicies: [{ arn: '${arn}', reason: '${REASON}' }]`))).toBe(
        `config/test.yaml:5:97: workloads[0].aws.awsManagedPolicies[0].arn = "${arn}": must be an AWS managed policy ARN without wildcards: arn:<partition>:iam::aws:policy/[<path>/]<name>`,
      );
    const arn = "arn:aws:iam::aws:policy/CloudWatchReadOnlyAccess";
    expect(errorOf(withPolicies(`awsManagedPolicies: [{ arn: '${arn}', reason: '${REASON}' }, { arn: '${arn}', reason: '${REASON} too' }]`))).toBe(
      `config/test.yaml:5:215: workloads[0].aws.awsManagedPolicies[1].arn = "${arn}": policy already attached by workloads[0].aws.awsManagedPolicies[0].arn`,
    );
  });

  it("refuses over-broad managed policies", () => {
    expect(
      errorOf(`${EKS_YAML}${workload("  - { namespace: default, serviceAccount: s3cmd, aws: { mode: irsa, managedPolicyArns: ['arn:aws:iam::aws:policy/AmazonS3FullAccess'] } }\n")}`),
    ).toBe(
      'config/test.yaml:5:89: workloads[0].aws.managedPolicyArns[0] = "arn:aws:iam::aws:policy/AmazonS3FullAccess": AmazonS3FullAccess is never attached to a workload role; grant least-privilege access with aws.s3 instead',
    );
  });

  it("refuses a namespace that is not a DNS label and a subject over Google's limit", () => {
    expect(errorOf(`${DEV_SELF_MANAGED_YAML}${workload("  - { namespace: Default, serviceAccount: app }\n")}`)).toBe(
      'config/test.yaml:13:18: workloads[0].namespace = "Default": a Kubernetes namespace must be a DNS-1123 label: at most 63 characters of [a-z0-9-], starting and ending with [a-z0-9]',
    );
    const name = "n".repeat(100);
    expect(errorOf(`${DEV_SELF_MANAGED_YAML}${workload(`  - { namespace: default, serviceAccount: ${name} }\n`)}`)).toBe(
      `config/test.yaml:13:43: workloads[0].serviceAccount = "${name}": the token subject "system:serviceaccount:default:${name}" is 130 characters; Google Workload Identity Federation accepts at most 127`,
    );
  });
});

describe("GCP access", () => {
  const gcp = "gcp: { projectId: my-project, projectNumber: '123456789012' }\n";

  it("refuses irsa-token for a workload without an IRSA role", () => {
    expect(errorOf(`${EKS_YAML}${gcp}${workload("  - { namespace: default, serviceAccount: bq, gcp: { serviceAccountId: bq-reader, token: irsa-token } }\n")}`)).toBe(
      'config/test.yaml:6:90: workloads[0].gcp.token = "irsa-token": irsa-token reuses the workload\'s IRSA token, but the workload has no aws.mode irsa; use projected-token',
    );
  });

  it("refuses gcp access without the environment's gcp section", () => {
    expect(errorOf(`${EKS_YAML}${workload("  - { namespace: default, serviceAccount: bq, gcp: { serviceAccountId: bq-reader, token: projected-token } }\n")}`)).toBe(
      'config/test.yaml:5:52: workloads[0].gcp = "bq-reader": a workload with gcp access needs the environment\'s gcp section (project id and number)',
    );
  });

  it("refuses basic roles, and admin roles unless explicitly allowed", () => {
    expect(
      errorOf(`${EKS_YAML}${gcp}${workload("  - { namespace: default, serviceAccount: bq, gcp: { serviceAccountId: bq-reader, token: projected-token, projectRoles: [roles/editor] } }\n")}`),
    ).toBe('config/test.yaml:6:122: workloads[0].gcp.projectRoles[0] = "roles/editor": basic roles (owner, editor, viewer) are never granted; choose predefined roles');
    expect(
      errorOf(`${EKS_YAML}${gcp}${workload("  - { namespace: default, serviceAccount: bq, gcp: { serviceAccountId: bq-reader, token: projected-token, projectRoles: [roles/bigquery.admin] } }\n")}`),
    ).toBe(
      'config/test.yaml:6:52: workloads[0].gcp = "roles/bigquery.admin": admin roles are granted only as an explicit choice: set gcp.allowAdminRoles: true, or choose a narrower role',
    );
  });

  const gcpWorkload = (grants: string) =>
    `${EKS_YAML}${gcp}${workload(`  - { namespace: default, serviceAccount: bq, gcp: { serviceAccountId: bq-reader, token: projected-token, ${grants} } }\n`)}`;

  it.each(Object.entries(IMPERSONATION_ROLES))("refuses the impersonation role %s in projectRoles and datasetRoles, even with allowAdminRoles", (role, how) => {
    const rule = `impersonation roles are never granted to a workload: its holder ${how}; the app itself grants roles/iam.workloadIdentityUser on the workload's own service account, to its ServiceAccount only (allowAdminRoles does not change this)`;
    expect(errorOf(gcpWorkload(`projectRoles: [roles/bigquery.jobUser, ${role}]`))).toBe(`config/test.yaml:6:146: workloads[0].gcp.projectRoles[1] = "${role}": ${rule}`);
    expect(errorOf(gcpWorkload(`allowAdminRoles: true, datasetRoles: [{ dataset: sales, role: ${role} }]`))).toBe(
      `config/test.yaml:6:169: workloads[0].gcp.datasetRoles[0].role = "${role}": ${rule}`,
    );
  });

  it("refuses the impersonation roles the security review named", () => {
    for (const role of ["roles/iam.serviceAccountTokenCreator", "roles/iam.serviceAccountUser", "roles/iam.workloadIdentityUser", "roles/iam.serviceAccountKeyAdmin"])
      expect(impersonationRole(role)).toBeDefined();
    expect(impersonationRole("roles/bigquery.jobUser")).toBeUndefined();
    expect(impersonationRole("constructor")).toBeUndefined();
  });

  it.each(["roles/owner", "roles/editor", "roles/viewer"])("refuses the basic role %s on a dataset too (a config error, not a crash in the stack)", (role) => {
    expect(errorOf(gcpWorkload(`datasetRoles: [{ dataset: sales, role: roles/bigquery.dataViewer }, { dataset: sales, role: ${role} }]`))).toBe(
      `config/test.yaml:6:199: workloads[0].gcp.datasetRoles[1].role = "${role}": basic roles (owner, editor, viewer) are never granted; choose predefined roles`,
    );
  });

  it("still accepts predefined roles, and admin roles when allowed", () => {
    expect(() => environmentFromYaml(gcpWorkload("projectRoles: [roles/bigquery.jobUser], datasetRoles: [{ dataset: sales, role: roles/bigquery.dataViewer }]"))).not.toThrow();
    expect(() => environmentFromYaml(gcpWorkload("allowAdminRoles: true, projectRoles: [roles/bigquery.admin]"))).not.toThrow();
  });

  it("checks Google ids", () => {
    expect(errorOf(`${EKS_YAML}gcp: { projectId: my-project, projectNumber: my-project, poolId: gcp-pool }\n`)).toBe(
      [
        'config/test.yaml:4:46: gcp.projectNumber = "my-project": a Google project number must be digits only',
        'config/test.yaml:4:66: gcp.poolId = "gcp-pool": a workload identity pool or provider id must not start with "gcp-" (reserved by Google)',
      ].join("\n"),
    );
  });

  it("resolves token paths and defaults", () => {
    const environment = environmentFromYaml(
      `${EKS_YAML}${gcp}${workload(
        "  - { namespace: default, serviceAccount: a, aws: { mode: irsa }, gcp: { serviceAccountId: sa-aaaaaa, token: irsa-token } }\n  - { namespace: default, serviceAccount: b, gcp: { serviceAccountId: sa-bbbbbb, token: projected-token } }\n",
      )}`,
    );
    expect(environment.catalog.gcp).toEqual({ projectId: "my-project", projectNumber: "123456789012", region: "us-central1", poolId: "prod-pool", providerId: "prod-oidc", enableApis: false });
    expect(environment.catalog.workloads.map((w) => w.gcp?.tokenPath)).toEqual([
      "/var/run/secrets/eks.amazonaws.com/serviceaccount/token",
      "/var/run/secrets/tokens/gcp-ksa/token",
    ]);
  });
});
