/**
 * The child pipeline of `.gitlab-ci.yml` (written by `npm run ci:pipeline`): per environment, one plan job per
 * stack in the stack deploy order (each needs the plans of the stacks it reads outputs from), a review job,
 * and one manual deploy job on protected branches; or, for a scheduled pipeline, one drift check per stack.
 * In a merge request (a StackSelection, lib/ci/changed-stacks.ts) only the stacks that differ from the target
 * branch and their consumers get plan jobs; the other stacks have no job at all, so no plan waits on them.
 * Pure: environments and stack dependencies in, a GitLab CI document out. The shell steps live in
 * scripts/ci/*.sh so that the YAML stays short and the steps can be run and tested on their own.
 */
import { describeReason, removedStackNote, StackSelection } from "./changed-stacks";

/** A stack of an environment and the stacks (of the same environment) whose outputs it reads. */
export interface PipelineStack {
  readonly id: string;
  readonly dependencies: readonly string[];
}

/**
 * An environment's `delivery.gitlab` settings (resolved by the config loader), which the jobs receive as
 * variables: the credential step (Cognito Logins key, messages) and the deploy job's refusals.
 */
export interface PipelineDelivery {
  /** `delivery.gitlab.url` without `https://`: the IAM OIDC provider's name, the key of Cognito's Logins. */
  readonly gitlabHost: string;
  readonly projectId: string;
  readonly projectPath: string;
  readonly deployBranches: readonly string[];
  /** The oldest GitLab the deploy job runs on (CI_SERVER_VERSION). */
  readonly minimumVersion: string;
}

export interface PipelineEnvironment {
  /** `config/<name>.yaml`. */
  readonly name: string;
  readonly file: string;
  readonly backend: "local" | "s3" | "gcs";
  /** The environment's stacks in the order the app creates them (the tie-break of the deploy order). */
  readonly stacks: readonly PipelineStack[];
  /**
   * With `delivery:`, the jobs get AWS credentials from the delivery-<env> identity pools and the deploy job
   * checks the project, branch and GitLab version; without, the roles of AWS_PLAN_ROLE_ARN / AWS_DEPLOY_ROLE_ARN
   * are assumed by web identity.
   */
  readonly delivery?: PipelineDelivery;
}

/** `delivery`: merge requests and branches (plan, review, manual deploy). `drift`: scheduled pipelines. */
export type PipelineMode = "delivery" | "drift";

/**
 * Stacks whose prefix marks them as bootstrapped by an administrator (the pipeline's own identities): they
 * are planned (read-only, with the plan identity) so drift and changes show, but never applied by the deploy
 * job, whose identity they define.
 */
export const ADMIN_STACK_PREFIXES: readonly string[] = ["delivery-"];

export const NODE_IMAGE = "node:20-bookworm-slim";
/** Debian bookworm's awscli, pinned: `aws eks get-token` for the kubernetes provider of EKS clusters. */
export const AWSCLI_DEBIAN_VERSION = "2.9.19-1";

export class PipelineError extends Error {}

export function isAdminStack(stackId: string): boolean {
  return ADMIN_STACK_PREFIXES.some((prefix) => stackId.startsWith(prefix));
}

/**
 * Producers before consumers (Kahn's algorithm over the stacks' dependencies); among stacks that are ready
 * at the same time, the app's creation order. Dependencies outside the environment are not ordered here.
 */
export function deployOrder(stacks: readonly PipelineStack[]): string[] {
  const ids = new Set(stacks.map((stack) => stack.id));
  const pending = new Map(stacks.map((stack) => [stack.id, new Set(stack.dependencies.filter((dependency) => ids.has(dependency)))]));
  const order: string[] = [];
  while (pending.size > 0) {
    const ready = stacks.find((stack) => pending.get(stack.id)?.size === 0);
    if (!ready) throw new PipelineError(`stack dependencies form a cycle: ${[...pending.keys()].join(", ")}`);
    order.push(ready.id);
    pending.delete(ready.id);
    for (const waiting of pending.values()) waiting.delete(ready.id);
  }
  return order;
}

const parentArtifacts = (job: string) => ({ pipeline: "$PARENT_PIPELINE_ID", job, artifacts: true });

/** A job of the child pipeline; keys in GitLab's order of reading. */
type Job = Record<string, unknown>;

function idTokens(): Job {
  return {
    // AWS: the IAM OIDC provider of the GitLab instance is trusted with aud = sts.amazonaws.com.
    AWS_ID_TOKEN: { aud: "sts.amazonaws.com" },
    // Google: the audience GitLab's docs use, the provider's full resource name with the https prefix (Google
    // accepts it, and the //iam.googleapis.com form, when the provider lists no allowed audiences).
    GCP_ID_TOKEN: { aud: "https://iam.googleapis.com/${GCP_WORKLOAD_IDENTITY_PROVIDER}" },
  };
}

/**
 * The variables of the credential step for the plan (plan and drift jobs) or deploy identity. With delivery:
 * the identity pool id (CI/CD variable AWS_PLAN_IDENTITY_POOL_ID / AWS_DEPLOY_IDENTITY_POOL_ID, an output of
 * delivery-<env>) and the GitLab host and project id from the config (scripts/ci/aws-credentials.js); without,
 * the role ARN (AWS_PLAN_ROLE_ARN / AWS_DEPLOY_ROLE_ARN), assumed by web identity.
 */
function credentialVariables(environment: PipelineEnvironment, identity: "plan" | "deploy"): Record<string, string> {
  const upper = identity.toUpperCase();
  const aws: Record<string, string> = environment.delivery
    ? {
        AWS_IDENTITY_POOL_ID: `$AWS_${upper}_IDENTITY_POOL_ID`,
        DELIVERY_GITLAB_HOST: environment.delivery.gitlabHost,
        DELIVERY_PROJECT_ID: environment.delivery.projectId,
      }
    : { AWS_ROLE_ARN: `$AWS_${upper}_ROLE_ARN` };
  return { ...aws, GCP_SERVICE_ACCOUNT: `$GCP_${upper}_SERVICE_ACCOUNT`, CREDENTIALS_FOR: identity };
}

/** What the deploy job checks before requesting credentials (scripts/ci/deploy-gate.js), from `delivery:`. */
function deliveryGateVariables(environment: PipelineEnvironment): Record<string, string> {
  const delivery = environment.delivery;
  if (!delivery) return {};
  return {
    DELIVERY_PROJECT_PATH: delivery.projectPath,
    DELIVERY_DEPLOY_BRANCHES: delivery.deployBranches.join(" "),
    DELIVERY_MIN_GITLAB_VERSION: delivery.minimumVersion,
  };
}

const terraformArtifacts = (stack: string) => [`cdktf.out/stacks/${stack}/tfplan`, `cdktf.out/stacks/${stack}/.terraform.lock.hcl`, `cdktf.out/plans/${stack}.*`];

/** `planned`: the stacks of the environment that have a plan job (all of them, or a merge request's selection). */
function planJob(environment: PipelineEnvironment, stack: PipelineStack, planned: ReadonlySet<string>): Job {
  const producers = stack.dependencies.filter((dependency) => planned.has(dependency));
  return {
    stage: "plan",
    extends: ".cloud",
    needs: [parentArtifacts("synth"), parentArtifacts("terraform"), ...producers.map((producer) => ({ job: `plan:${producer}`, artifacts: true }))],
    variables: {
      ENVIRONMENT: environment.name,
      STACK: stack.id,
      PRODUCERS: producers.join(" "),
      ...credentialVariables(environment, "plan"),
    },
    environment: { name: environment.name, action: "prepare" },
    script: ['bash scripts/ci/plan-stack.sh "$STACK"'],
    artifacts: {
      when: "always",
      expire_in: "1 week",
      access: "developer",
      paths: terraformArtifacts(stack.id),
      // The create/update/delete summary GitLab's merge request widget shows for this stack's plan.
      reports: { terraform: `cdktf.out/plans/${stack.id}.tfreport.json` },
    },
  };
}

function reviewJob(environment: PipelineEnvironment, order: readonly string[]): Job {
  return {
    stage: "review",
    extends: ".node",
    needs: [parentArtifacts("synth"), ...order.map((stack) => ({ job: `plan:${stack}`, artifacts: true }))],
    variables: { ENVIRONMENT: environment.name },
    script: ["bash scripts/ci/review.sh"],
    artifacts: {
      expire_in: "1 week",
      access: "developer",
      expose_as: `identity review ${environment.name}`,
      paths: [`cdktf.out/review/`, "gl-code-quality-review.json"],
      reports: { codequality: "gl-code-quality-review.json" },
    },
  };
}

function deployJob(environment: PipelineEnvironment, order: readonly string[]): Job {
  const deployed = order.filter((stack) => !isAdminStack(stack));
  return {
    stage: "deploy",
    extends: ".cloud",
    needs: [
      parentArtifacts("test"),
      parentArtifacts("synth"),
      parentArtifacts("terraform"),
      ...order.map((stack) => ({ job: `plan:${stack}`, artifacts: true })),
      { job: `review:${environment.name}`, artifacts: false },
    ],
    variables: {
      ENVIRONMENT: environment.name,
      STACKS: deployed.join(" "),
      ADMIN_STACKS: order.filter(isAdminStack).join(" "),
      ...credentialVariables(environment, "deploy"),
      ...deliveryGateVariables(environment),
    },
    environment: { name: environment.name, deployment_tier: tierOf(environment.name) },
    // One deploy of an environment at a time, across pipelines.
    resource_group: `cluster-identity-${environment.name}`,
    rules: [
      // Protected branches only (never a merge request), and only when someone presses the button; blocking,
      // so a failed deploy fails the pipeline instead of passing with a warning. The job's first step says so
      // again, and checks what rules cannot (scripts/ci/deploy-gate.js): the project, the branch, GitLab's version.
      { if: '$CI_COMMIT_REF_PROTECTED == "true" && $PARENT_PIPELINE_SOURCE != "merge_request_event"', when: "manual", allow_failure: false },
      { when: "never" },
    ],
    script: ['bash scripts/ci/deploy-environment.sh "$ENVIRONMENT" $STACKS'],
  };
}

function driftJob(environment: PipelineEnvironment, stack: PipelineStack): Job {
  return {
    stage: "drift",
    extends: ".cloud",
    needs: [parentArtifacts("synth"), parentArtifacts("terraform")],
    variables: {
      ENVIRONMENT: environment.name,
      STACK: stack.id,
      ...credentialVariables(environment, "plan"),
    },
    environment: { name: environment.name, action: "verify" },
    script: ['bash scripts/ci/drift-stack.sh "$STACK"'],
  };
}

/** Why an environment has no plan/deploy jobs, as the job log says it. */
export function localBackendNote(environment: PipelineEnvironment): string {
  return `${environment.name}: no plan or deploy jobs: ${environment.file} uses the local state backend, which a CI job would lose with its workspace. Set backend s3 or gcs in ${environment.file} (README: "Moving an environment to a remote backend").`;
}

/** Why a remote-state environment has no jobs in a merge request: none of its stacks differs from the base. */
export function unchangedEnvironmentNote(environment: PipelineEnvironment, selection: StackSelection): string {
  return `${environment.name}: no plan jobs: none of its stacks (${environment.stacks.map((stack) => stack.id).join(", ")}) differs from ${selection.base} or reads outputs of one that does. Protected branches plan every stack.`;
}

/** Why a merge request's pipeline plans every stack (its base revision could not be synthesized, say). */
export function everyStackNote(reason: string): string {
  return `every stack is planned: ${reason}`;
}

/**
 * What a merge request's pipeline plans and why, one line per selected stack; `remote`: the stacks of
 * remote-state environments (the others have no plan jobs in any pipeline).
 */
export function selectionLines(selection: StackSelection, remote: ReadonlySet<string>): string[] {
  if (selection.planned.size === 0) return [`no stack differs from ${selection.base}: nothing to plan`];
  return [...selection.planned].map(([stack, reason]) =>
    remote.has(stack) ? `plan ${stack}: ${describeReason(reason, selection.base)}` : `${stack}: ${describeReason(reason, selection.base)}; not planned: its environment keeps local state`,
  );
}

function noteJob(lines: string | readonly string[], stage = "notes"): Job {
  return {
    stage,
    image: NODE_IMAGE,
    needs: [],
    variables: { GIT_STRATEGY: "none" },
    script: (typeof lines === "string" ? [lines] : lines).map((line) => `echo ${shellQuote(line)}`),
  };
}

function shellQuote(text: string): string {
  return `'${text.replace(/'/g, `'\\''`)}'`;
}

function tierOf(environment: string): string {
  if (/^prod/.test(environment)) return "production";
  if (/^(stag|preprod|uat)/.test(environment)) return "staging";
  if (/^(test|qa)/.test(environment)) return "testing";
  return "development";
}

/** The hidden jobs every generated job extends. */
function templates(): Record<string, Job> {
  return {
    ".node": {
      image: NODE_IMAGE,
      cache: { key: { files: ["package-lock.json"] }, paths: [".npm/"], policy: "pull" },
      before_script: ["npm ci --cache .npm --prefer-offline --no-audit --no-fund"],
    },
    // Plan, drift and deploy jobs: no npm install (the steps are shell + plain node); the credential step
    // comes first (in deploy jobs, after the deploy gate's refusals) and fails with a clear message when the
    // environment's CI/CD variables are missing.
    ".cloud": {
      image: NODE_IMAGE,
      id_tokens: idTokens(),
      variables: { AWSCLI_DEBIAN_VERSION },
    },
  };
}

export interface ChildPipelineOptions {
  readonly mode: PipelineMode;
  /**
   * A merge request's stacks to plan (delivery mode only): plan jobs for those alone, review and deploy jobs
   * needing only them, an `unchanged:<env>` note for an environment with none, a `removed:<stack>` note per stack
   * of the base that this revision no longer has. Without it every stack is planned.
   */
  readonly selection?: StackSelection;
  /** Why every stack is planned although a selection was asked for: shown by a `changed-stacks` note job. */
  readonly everyStackBecause?: string;
}

/** The child pipeline document for the environments, in config-file order. */
export function childPipeline(environments: readonly PipelineEnvironment[], options: ChildPipelineOptions): Record<string, unknown> {
  if (environments.length === 0) throw new PipelineError("no environment: add config/<env>.yaml");
  const jobs: Record<string, Job> = {};
  const stages = options.mode === "drift" ? ["notes", "drift"] : ["notes", "plan", "review", "deploy"];
  // Drift checks every stack, whatever a merge request changed.
  const selection = options.mode === "delivery" ? options.selection : undefined;
  const notes: Record<string, Job> = {};
  if (options.mode === "delivery" && options.everyStackBecause !== undefined) {
    // The first line: a failed synth's output stays in the log of the job that generated the pipeline.
    const [first, ...more] = options.everyStackBecause.split("\n");
    notes["changed-stacks"] = noteJob(everyStackNote(more.length > 0 ? `${first} (the synth job's log has the rest)` : first));
  }
  for (const environment of environments) {
    if (environment.stacks.length === 0) throw new PipelineError(`${environment.file}: the environment synthesized no stack`);
    if (environment.backend === "local") {
      notes[`no-remote-state:${environment.name}`] = noteJob(localBackendNote(environment));
      continue;
    }
    const byId = new Map(environment.stacks.map((stack) => [stack.id, stack]));
    if (options.mode === "drift") {
      for (const id of deployOrder(environment.stacks)) jobs[`drift:${id}`] = driftJob(environment, byId.get(id)!);
      continue;
    }
    const order = deployOrder(environment.stacks).filter((id) => !selection || selection.planned.has(id));
    if (order.length === 0) {
      notes[`unchanged:${environment.name}`] = noteJob(unchangedEnvironmentNote(environment, selection!));
      continue;
    }
    const planned = new Set(order);
    for (const id of order) jobs[`plan:${id}`] = planJob(environment, byId.get(id)!, planned);
    jobs[`review:${environment.name}`] = reviewJob(environment, order);
    // Only the pipeline's own identities changed: nothing for the deploy job (an administrator applies them).
    if (order.some((id) => !isAdminStack(id))) jobs[`deploy:${environment.name}`] = deployJob(environment, order);
  }
  if (selection) {
    const remote = new Set(environments.filter((environment) => environment.backend !== "local").flatMap((environment) => environment.stacks.map((stack) => stack.id)));
    notes["changed-stacks"] = noteJob(selectionLines(selection, remote));
    for (const stack of selection.removed) notes[`removed:${stack}`] = noteJob(removedStackNote(stack, selection.base));
  }
  return {
    stages,
    variables: { CHECKPOINT_DISABLE: "1", TF_IN_AUTOMATION: "1", TF_INPUT: "0" },
    ...templates(),
    ...notes,
    ...jobs,
  };
}
