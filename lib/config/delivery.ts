/**
 * `delivery:` — the identities of the GitLab pipeline that deploys this app: its schema and its
 * resolution (defaults, names, the cross-checks that need the rest of the environment).
 *
 * ./schema imports this section's zod schema; what both need (the `oidcProvider` choice, the backend) comes from
 * ./schema-parts, so that this module never imports ./schema.
 */
import { z } from "zod";
import { parseOidcProviderArn } from "../iam/oidc-provider-arn";
import { gcpProjectIdRule, gcpProjectNumberRule, gcpServiceAccountIdRule, iamRoleNameRule, issuerUrlRule, Rule, workloadIdentityIdRule } from "./rules";
import type { CatalogIssue } from "./issues";
import { BackendConfig, oidcProviderChoice, OidcProviderChoiceConfig } from "./schema-parts";
import { defaultStatePrefix } from "./state-prefix";

/** A GitLab project path: `group[/subgroup…]/project`, each part as GitLab allows it. */
const PROJECT_PATH = /^[A-Za-z0-9_][A-Za-z0-9_.-]*(\/[A-Za-z0-9_][A-Za-z0-9_.-]*)+$/;
/** A branch name as it appears in `ref`: a git ref name without wildcards, `:` or whitespace. */
const BRANCH = /^(?!-)(?!.*\.\.)(?!.*\/\/)(?!.*\.lock$)(?!.*\/$)(?!.*\.$)[A-Za-z0-9._\/-]{1,200}$/;

/**
 * Names GitLab reserves (docs "Reserved project and group names", lib/gitlab/path_regex.rb): a project cannot be
 * named like a project route, a top-level group like a top-level route, a subgroup `-` (matched case-insensitively, as
 * GitLab does). The docs' multi-part entries (`info/lfs/objects`…) cannot be one path part and are left out.
 */
export const GITLAB_RESERVED_PROJECT_NAMES: readonly string[] = [
  "-", "badges", "blame", "blob", "builds", "commits", "create", "create_dir", "edit", "files", "find_file", "new", "preview",
  "raw", "refs", "tree", "update", "wikis",
];
export const GITLAB_RESERVED_TOP_LEVEL_NAMES: readonly string[] = [
  "-", ".well-known", "404.html", "422.html", "500.html", "502.html", "503.html", "admin", "api", "apple-touch-icon.png",
  "assets", "dashboard", "deploy.html", "explore", "favicon.ico", "favicon.png", "files", "groups", "health_check", "help",
  "import", "jwt", "login", "oauth", "profile", "projects", "public", "robots.txt", "s", "search", "sitemap", "sitemap.xml",
  "sitemap.xml.gz", "slash-command-logo.png", "snippets", "unsubscribes", "uploads", "users", "v2",
];
export const GITLAB_RESERVED_SUBGROUP_NAMES: readonly string[] = ["-"];

/**
 * A project path GitLab itself would refuse (docs "Reserved project and group names": a group or project slug
 * starts and ends with a letter or digit, has no two special characters in a row, does not end in .git or .atom,
 * and is not a reserved name), in plain words; undefined when GitLab accepts it. Only the shape PROJECT_PATH
 * checks first (group[/subgroup]/project of [A-Za-z0-9_.-]) is assumed.
 */
export function gitlabProjectPathRule(projectPath: string): string | undefined {
  if (!PROJECT_PATH.test(projectPath)) return undefined;
  const parts = projectPath.split("/");
  for (const [index, part] of parts.entries()) {
    const what = index === parts.length - 1 ? "the project" : index === 0 ? "the top-level group" : "a subgroup";
    const suffix = /\.(git|atom)$/.exec(part);
    if (suffix)
      return `${what} "${part}" ends in ".${suffix[1]}": GitLab paths never do (GitLab reads a path ending in .git as a clone URL, in .atom as a feed); write the path without it`;
    if (!/^[A-Za-z0-9]/.test(part)) return `${what} "${part}" starts with "${part[0]}": each part of a GitLab path starts and ends with a letter or digit`;
    if (!/[A-Za-z0-9]$/.test(part)) return `${what} "${part}" ends with "${part.slice(-1)}": each part of a GitLab path starts and ends with a letter or digit`;
    const run = /[_.-]{2,}/.exec(part);
    if (run) return `${what} "${part}" has "${run[0]}": GitLab paths never have two special characters (_ . -) in a row`;
  }
  const project = parts[parts.length - 1].toLowerCase();
  const reservedProject = GITLAB_RESERVED_PROJECT_NAMES.find((name) => name === project);
  if (reservedProject) return `"${reservedProject}" is a name GitLab reserves for its own project routes; no project can have it`;
  if (GITLAB_RESERVED_TOP_LEVEL_NAMES.includes(parts[0].toLowerCase()))
    return `"${parts[0]}" is a name GitLab reserves for its own routes; no top-level group can have it`;
  const subgroup = parts.slice(1, -1).find((part) => GITLAB_RESERVED_SUBGROUP_NAMES.includes(part));
  if (subgroup) return `"${subgroup}" is a name GitLab reserves; no subgroup can have it`;
  return undefined;
}

function checkedString(rule: Rule, description: string) {
  return z
    .string()
    .describe(description)
    .superRefine((value, ctx) => {
      const broken = rule(value);
      if (broken) ctx.addIssue({ code: "custom", message: broken });
    });
}

/** `project_path:<path>:ref_type:branch:ref:` + branch: GitLab's `sub` for a branch pipeline. */
export function gitlabBranchSubject(projectPath: string, branch: string): string {
  return `project_path:${projectPath}:ref_type:branch:ref:${branch}`;
}

/** GitLab's numeric project id: unlike the path, it never changes and is never reused by another project. */
const PROJECT_ID = /^[1-9][0-9]{0,18}$/;
/** `major.minor.patch` of a GitLab release. */
const GITLAB_VERSION = /^(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)$/;

/**
 * The first GitLab release whose CI id_tokens name the fork, not the parent project, for a fork's merge-request
 * pipeline that runs in the parent project (the 2025 fix; gitlab-org/gitlab#561735 reports it as new in 18.2.2).
 */
export const DEFAULT_MINIMUM_GITLAB_VERSION = "18.2.2";

/** Google limits google.subject (here the GitLab `sub`) and attribute values to 127 bytes. */
export const GOOGLE_ATTRIBUTE_MAX_LENGTH = 127;

/** The `delivery:` section; `oidcProvider` is the shared `{ use | import }` choice (schema-parts.ts). */
export const deliverySchema = z
  .object({
    gitlab: z
      .object({
        url: z
          .string()
          .describe("The GitLab instance: the issuer of CI id_tokens (https://gitlab.com, or a self-managed GitLab's URL)")
          .superRefine((value, ctx) => {
            const broken = issuerUrlRule(value);
            if (broken) ctx.addIssue({ code: "custom", message: broken });
          }),
        projectPath: z
          .string()
          .regex(PROJECT_PATH, "must be a GitLab project path such as platform/cluster-identity (group[/subgroup]/project, no wildcards)")
          .superRefine((value, ctx) => {
            const broken = gitlabProjectPathRule(value);
            if (broken) ctx.addIssue({ code: "custom", message: broken });
          })
          .describe("group/project of this repository: the only project whose pipelines may use the delivery identities"),
        projectId: z
          .string()
          .regex(PROJECT_ID, "must be the GitLab project's numeric id (Settings > General > Project ID), as a quoted string")
          .describe("The project's numeric id: what the clouds trust (a path can be renamed and registered again by someone else)"),
        deployBranches: z
          .array(z.string().regex(BRANCH, "must be a branch name without wildcards, ':' or whitespace"))
          .min(1)
          .superRefine((list, ctx) => {
            if (new Set(list).size !== list.length) ctx.addIssue({ code: "custom", message: "deploy branches must be unique" });
          })
          .describe("Protected branches whose pipelines may deploy (the deploy identities); every branch may plan"),
        minimumVersion: z
          .string()
          .regex(GITLAB_VERSION, "must be a GitLab version major.minor.patch, such as 18.2.2")
          .optional()
          .describe(
            `The oldest GitLab release the deploy job runs on (it refuses older ones, CI_SERVER_VERSION). Lower it only for a patch release that carries the fork merge-request id_token fix. @default "${DEFAULT_MINIMUM_GITLAB_VERSION}"`,
          ),
        oidcProvider: oidcProviderChoice
          .optional()
          .describe("The IAM OIDC provider for the GitLab URL when it exists already: { use: <ARN> } or { import: <ARN> }. @default created in delivery-<env>"),
      })
      .strict(),
    gcp: z
      .object({
        projectId: checkedString(gcpProjectIdRule, "The Google project of the delivery pool and the plan and deploy service accounts: not the environment's gcp.projectId, which the deploy service account administers"),
        projectNumber: checkedString(gcpProjectNumberRule, "Its project number (the delivery pool's resource name)"),
      })
      .strict()
      .optional()
      .describe("Where the pipeline's Google identities live; required when the environment has gcp:. @default none"),
  })
  .strict()
  .describe("The GitLab pipeline's own identities (delivery-<env>, deployed first by an administrator). @default none");

export type DeliveryConfig = {
  readonly gitlab: {
    readonly url: string;
    readonly projectPath: string;
    readonly projectId: string;
    readonly deployBranches: readonly string[];
    readonly minimumVersion?: string;
    readonly oidcProvider?: OidcProviderChoiceConfig;
  };
  readonly gcp?: { readonly projectId: string; readonly projectNumber: string };
};

/** Where the environment's Terraform state lives (the s3 backend): what the delivery roles may read and lock. */
export interface DeliveryState {
  readonly bucket: string;
  readonly region: string;
  /**
   * Every stack's state is `<keyPrefix>/<stack>.tfstate`, its lock `<keyPrefix>/<stack>.tfstate.tflock`.
   * @default "cluster-identity/<env>" (the backend's own default, defaultStatePrefix)
   */
  readonly keyPrefix: string;
}

export interface DeliveryGoogle {
  /** The delivery project: the pool, its GitLab provider and the plan and deploy service accounts live here. */
  readonly projectId: string;
  readonly projectNumber: string;
  readonly poolId: string;
  readonly providerId: string;
  readonly planServiceAccountId: string;
  readonly deployServiceAccountId: string;
}

export interface Delivery {
  readonly gitlab: {
    /** `https://host[/path]`: the `iss` of the pipeline's id_tokens. */
    readonly url: string;
    /** The URL without `https://`: the IAM provider's name and its condition-key prefix. */
    readonly hostPath: string;
    readonly projectPath: string;
    /** The numeric project id (immutable): the claim both clouds require. */
    readonly projectId: string;
    readonly deployBranches: readonly string[];
    /** The deploy job refuses an older GitLab (CI_SERVER_VERSION). @default DEFAULT_MINIMUM_GITLAB_VERSION */
    readonly minimumVersion: string;
    readonly oidcProvider?: OidcProviderChoiceConfig;
  };
  /** The audience of id_tokens for AWS (`id_tokens: … aud: sts.amazonaws.com`). */
  readonly awsAudience: string;
  readonly planRoleName: string;
  readonly deployRoleName: string;
  /** Cognito identity pools that turn a GitLab id_token's claims into the session tags the roles' trust requires. */
  readonly planIdentityPoolName: string;
  readonly deployIdentityPoolName: string;
  /** The managed policy every workload role carries as its permissions boundary. */
  readonly boundaryPolicyName: string;
  /** Managed policies of the deploy role: its EKS permissions, and its explicit denies (lib/delivery/aws-policies). */
  readonly deployClustersPolicyName: string;
  readonly deployGuardrailsPolicyName: string;
  readonly state: DeliveryState;
  /** Only when the environment has `gcp:`. */
  readonly google?: DeliveryGoogle;
}

export const DELIVERY_AWS_AUDIENCE = "sts.amazonaws.com";

/** Names of the delivery identities: derived from the environment name alone, so ARNs are known before deploy. */
export function deliveryNames(environmentName: string) {
  return {
    planRoleName: `cluster-identity-${environmentName}-plan`,
    deployRoleName: `cluster-identity-${environmentName}-deploy`,
    boundaryPolicyName: `cluster-identity-${environmentName}-workload-boundary`,
    deployClustersPolicyName: `cluster-identity-${environmentName}-deploy-clusters`,
    deployGuardrailsPolicyName: `cluster-identity-${environmentName}-deploy-guardrails`,
    planIdentityPoolName: `cluster-identity-${environmentName}-plan`,
    deployIdentityPoolName: `cluster-identity-${environmentName}-deploy`,
    poolId: `delivery-${environmentName}`,
    providerId: "gitlab",
    planServiceAccountId: `ci-plan-${environmentName}`,
    deployServiceAccountId: `ci-deploy-${environmentName}`,
  };
}

/** `arn:<partition>:iam::<account>:role/<name>` (roles of this app have no path). */
export function iamRoleArn(partition: string, accountId: string, roleName: string): string {
  return `arn:${partition}:iam::${accountId}:role/${roleName}`;
}

/** `arn:<partition>:iam::<account>:policy/<name>` */
export function iamPolicyArn(partition: string, accountId: string, policyName: string): string {
  return `arn:${partition}:iam::${accountId}:policy/${policyName}`;
}

export interface DeliveryContext {
  readonly environmentName: string;
  readonly accountId: string;
  readonly partition: string;
  readonly backend: BackendConfig;
  readonly hasGcp: boolean;
  /** The environment's own Google project (gcp.projectId), which the deploy service account administers. */
  readonly gcpProjectId?: string;
  readonly assumeRoleArn?: string;
}

/** Resolves `delivery:`; problems are returned as issues (the loader adds the file name). */
export function resolveDelivery(config: DeliveryConfig, context: DeliveryContext): { readonly delivery?: Delivery; readonly issues: CatalogIssue[] } {
  const issues: CatalogIssue[] = [];
  const gitlab = config.gitlab;
  const hostPath = gitlab.url.replace(/^https:\/\//, "");
  const names = deliveryNames(context.environmentName);

  for (const [field, value] of [["planRoleName", names.planRoleName], ["deployRoleName", names.deployRoleName]] as const) {
    const broken = iamRoleNameRule(value);
    if (broken) issues.push({ field: "delivery", value, rule: `the ${field} derived from the environment name is invalid (${broken})` });
  }
  if (context.hasGcp && !config.gcp)
    issues.push({
      field: "delivery.gcp",
      value: undefined,
      rule: "the environment has gcp:, so the pipeline needs Google identities: name the Google project they live in (delivery.gcp.projectId and projectNumber), one the deploy service account does not administer",
    });
  if (!context.hasGcp && config.gcp)
    issues.push({ field: "delivery.gcp", value: config.gcp.projectId, rule: "the environment has no gcp: section, so its pipeline has no Google identities; remove delivery.gcp" });
  if (config.gcp && config.gcp.projectId === context.gcpProjectId)
    issues.push({
      field: "delivery.gcp.projectId",
      value: config.gcp.projectId,
      rule: "the delivery identities must live in another project than gcp.projectId: the deploy service account administers pools and service accounts there, and could rewrite its own trust",
    });
  if (context.hasGcp) {
    for (const value of [names.planServiceAccountId, names.deployServiceAccountId]) {
      const broken = gcpServiceAccountIdRule(value);
      if (broken) issues.push({ field: "delivery", value, rule: `the Google service account id derived from the environment name is invalid (${broken})` });
    }
    const brokenPool = workloadIdentityIdRule(names.poolId);
    if (brokenPool) issues.push({ field: "delivery", value: names.poolId, rule: `the delivery pool id derived from the environment name is invalid (${brokenPool})` });
  }

  gitlab.deployBranches.forEach((branch, index) => {
    const subject = gitlabBranchSubject(gitlab.projectPath, branch);
    if (context.hasGcp && subject.length > GOOGLE_ATTRIBUTE_MAX_LENGTH)
      issues.push({
        field: `delivery.gitlab.deployBranches[${index}]`,
        value: branch,
        rule: `the pipeline's token subject "${subject}" is ${subject.length} characters; Google accepts at most ${GOOGLE_ATTRIBUTE_MAX_LENGTH} (shorten the branch or project path)`,
      });
  });

  const choice = gitlab.oidcProvider;
  if (choice) {
    const arn = "use" in choice ? choice.use : choice.import;
    const parts = parseOidcProviderArn(arn);
    const field = `delivery.gitlab.oidcProvider.${"use" in choice ? "use" : "import"}`;
    if (!parts) issues.push({ field, value: arn, rule: "an IAM OIDC provider ARN must be arn:<partition>:iam::<12-digit account>:oidc-provider/<issuer host and path>" });
    else if (parts.accountId !== context.accountId)
      issues.push({ field, value: arn, rule: `the provider is in account ${parts.accountId}, but this environment deploys to account ${context.accountId}` });
    else if (parts.issuerHostPath !== hostPath)
      issues.push({ field, value: arn, rule: `the provider is for issuer ${parts.issuerHostPath}, but delivery.gitlab.url is ${gitlab.url}` });
    else if (parts.partition !== context.partition)
      issues.push({ field, value: arn, rule: `the provider is in partition ${parts.partition}, but this environment's region is in ${context.partition}` });
  }

  if (context.assumeRoleArn)
    issues.push({
      field: "aws.assumeRoleArn",
      value: context.assumeRoleArn,
      rule: "with delivery: the pipeline deploys with its own roles (plan/deploy, fenced by a permissions boundary); a provider that assumes another role would bypass that fence — remove aws.assumeRoleArn",
    });

  const backend = context.backend;
  if (backend.type !== "s3") {
    issues.push({
      field: "backend.type",
      value: backend.type,
      rule: "delivery: needs the s3 backend — the pipeline's roles are granted exactly the environment's state objects and lock files in it (a pipeline cannot keep local state; gcs state is not supported by delivery)",
    });
    return { issues };
  }
  if (backend.roleArn)
    issues.push({ field: "backend.roleArn", value: backend.roleArn, rule: "with delivery: the pipeline's roles access the state bucket themselves; remove backend.roleArn" });

  const delivery: Delivery = {
    gitlab: {
      url: gitlab.url,
      hostPath,
      projectPath: gitlab.projectPath,
      projectId: gitlab.projectId,
      deployBranches: [...gitlab.deployBranches],
      minimumVersion: gitlab.minimumVersion ?? DEFAULT_MINIMUM_GITLAB_VERSION,
      ...(choice ? { oidcProvider: choice } : {}),
    },
    awsAudience: DELIVERY_AWS_AUDIENCE,
    planRoleName: names.planRoleName,
    deployRoleName: names.deployRoleName,
    planIdentityPoolName: names.planIdentityPoolName,
    deployIdentityPoolName: names.deployIdentityPoolName,
    boundaryPolicyName: names.boundaryPolicyName,
    deployClustersPolicyName: names.deployClustersPolicyName,
    deployGuardrailsPolicyName: names.deployGuardrailsPolicyName,
    state: { bucket: backend.bucket, region: backend.region, keyPrefix: backend.keyPrefix ?? defaultStatePrefix(context.environmentName) },
    ...(context.hasGcp && config.gcp
      ? {
          google: {
            projectId: config.gcp.projectId,
            projectNumber: config.gcp.projectNumber,
            poolId: names.poolId,
            providerId: names.providerId,
            planServiceAccountId: names.planServiceAccountId,
            deployServiceAccountId: names.deployServiceAccountId,
          },
        }
      : {}),
  };
  return { delivery, issues };
}

/**
 * With `delivery:`, the pipeline's deploy role applies oidc-<env>, so it is the writer of every self-managed
 * issuer's documents: the default writer (instead of the principal read at plan time, which in the pipeline is
 * the plan role), and a required member of explicit `issuer.writers`. `fieldOf(index)` names the cluster entry.
 */
export function issuerWritersWithDelivery<C extends { readonly type: string; readonly issuerWriterArns?: readonly string[] }>(
  clusters: readonly C[],
  environmentName: string,
  deployRoleArn: string,
  writersListed: (index: number) => boolean,
  fieldOf: (index: number) => string,
): { readonly clusters: C[]; readonly issues: CatalogIssue[] } {
  const issues: CatalogIssue[] = [];
  const reconciled = clusters.map((cluster, index) => {
    if (cluster.type !== "self-managed") return cluster;
    if (!writersListed(index)) return { ...cluster, issuerWriterArns: [deployRoleArn] };
    if (!cluster.issuerWriterArns?.includes(deployRoleArn))
      issues.push({
        field: `${fieldOf(index)}.issuer.writers`,
        value: cluster.issuerWriterArns,
        rule: `with delivery: the pipeline's deploy role (${deployRoleArn}) applies oidc-${environmentName}; list it too, or the bucket policy denies the pipeline its own writes of the issuer documents`,
      });
    return cluster;
  });
  return { clusters: reconciled, issues };
}
