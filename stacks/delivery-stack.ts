import { Construct } from "constructs";
import { TerraformOutput } from "cdktf";
import { CognitoIdentityPool } from "@cdktf/provider-aws/lib/cognito-identity-pool";
import { CognitoIdentityPoolProviderPrincipalTag } from "@cdktf/provider-aws/lib/cognito-identity-pool-provider-principal-tag";
import { CognitoIdentityPoolRolesAttachment } from "@cdktf/provider-aws/lib/cognito-identity-pool-roles-attachment";
import { EksAccessEntry } from "@cdktf/provider-aws/lib/eks-access-entry";
import { EksAccessPolicyAssociation } from "@cdktf/provider-aws/lib/eks-access-policy-association";
import { IamPolicy } from "@cdktf/provider-aws/lib/iam-policy";
import { IamRole } from "@cdktf/provider-aws/lib/iam-role";
import { IamRolePolicy } from "@cdktf/provider-aws/lib/iam-role-policy";
import { IamRolePolicyAttachment } from "@cdktf/provider-aws/lib/iam-role-policy-attachment";
import { IamWorkloadIdentityPool } from "@cdktf/provider-google/lib/iam-workload-identity-pool";
import { IamWorkloadIdentityPoolProvider } from "@cdktf/provider-google/lib/iam-workload-identity-pool-provider";
import { ProjectIamCustomRole } from "@cdktf/provider-google/lib/project-iam-custom-role";
import { ProjectIamMember } from "@cdktf/provider-google/lib/project-iam-member";
import { ServiceAccount } from "@cdktf/provider-google/lib/service-account";
import { ServiceAccountIamMember } from "@cdktf/provider-google/lib/service-account-iam-member";
import { EnvironmentAwsProvider } from "../constructs/environment-aws-provider";
import { EnvironmentGoogleProvider } from "../constructs/environment-google-provider";
import { declareOidcProvider } from "../constructs/oidc-provider";
import { Delivery, iamRoleArn } from "../lib/config/delivery";
import type { Environment } from "../lib/config/load";
import {
  DEPLOY_SESSION_TAGS,
  deployRolePolicies,
  DeliveryReferences,
  gitlabTrustPolicy,
  permissionsBoundaryPolicy,
  PLAN_SESSION_TAGS,
  planRolePolicy,
  principalTagMapping,
} from "../lib/delivery/aws-policies";
import {
  DATASET_IAM_PERMISSIONS,
  datasetIamCondition,
  datasetIamRoleId,
  deliveryAttributeCondition,
  deliveryAttributeMapping,
  deliveryProviderAudience,
  deployPrincipalSet,
  modifiedGrantsCondition,
  planPrincipalSet,
  PROJECT_IAM_ADMIN_ROLE,
} from "../lib/delivery/google";
import { DELIVERY_PROJECT_PLAN_ROLES, deployServiceAccountRoles, planServiceAccountRoles } from "../lib/gcp/delivery-roles";
import { managedScope, ManagedScope } from "../lib/delivery/scope";
import { deliveryIds } from "../lib/config/construct-ids";
import { pipelineGroups, pipelineRbacManifest } from "../lib/kubernetes/pipeline-rbac";
import { providerResourceName, roleConstructId, WORKLOAD_IDENTITY_USER_ROLE } from "../lib/gcp/resource-names";
import { PolicyDocument, toJson } from "../lib/iam/policy-document";
import { EnvironmentStack } from "./environment-stack";

/** The deploy role's ARN, from names alone: for wiring that must not wait for a cross-stack reference. */
export function deliveryDeployRoleArn(environment: Environment): string | undefined {
  const delivery = environment.delivery;
  return delivery ? iamRoleArn(environment.aws.partition, environment.aws.accountId, delivery.deployRoleName) : undefined;
}

/** IAM's limit on the inline policies of one role (characters, whitespace not counted). */
export const IAM_INLINE_POLICY_LIMIT = 10_240;
/** IAM's limit on a managed policy document (the permissions boundary). */
export const IAM_MANAGED_POLICY_LIMIT = 6_144;



/**
 * `delivery-<env>`: the identities of the GitLab pipeline that deploys this environment, deployed first and
 * by an administrator (every other stack then goes through the pipeline).
 *
 * AWS: the IAM OIDC provider for the GitLab URL (unless used or imported); per role a Cognito identity pool that
 * turns a GitLab id_token's claims into the session tags the role's trust requires; a plan role for any branch of
 * the project (read-only, denied every write); a deploy role for the protected deploy branches (the environment's
 * resources by name, roles only with the boundary, explicit denies of data, key use and the delivery identities);
 * the permissions boundary every workload role of aws-workloads and gitlab-storage carries; on every EKS cluster,
 * namespaced cluster access for both.
 * Google (with `gcp:`): in the delivery project, a pool with a GitLab provider admitting only this project by id, a
 * plan and a deploy service account; in the environment's project, their roles — the deploy identity's IAM
 * administration limited by condition to the catalog's roles and datasets.
 */
export class DeliveryStack extends EnvironmentStack {
  readonly delivery: Delivery;
  readonly scope: ManagedScope;
  /** References to the roles (the values CI/CD variables take). */
  readonly planRoleArn: string;
  readonly deployRoleArn: string;
  /** References to the identity pools the CI jobs get their credentials from (CI/CD variables). */
  readonly planIdentityPoolId: string;
  readonly deployIdentityPoolId: string;
  /** Reference to the boundary policy: the other stacks' roles carry it by cross-stack reference. */
  readonly permissionsBoundaryArn: string;
  /** The deploy role's ARN derived from its name (no cross-stack reference): e.g. the issuer's document writers. */
  readonly deployRoleArnByName: string;
  readonly gitlabProviderArn: string;
  /** Only with `gcp:`. */
  readonly google?: {
    readonly providerName: string;
    readonly audience: string;
    readonly planServiceAccountEmail: string;
    readonly deployServiceAccountEmail: string;
  };

  constructor(scope: Construct, environment: Environment) {
    super(scope, "delivery", environment);
    const delivery = environment.delivery;
    if (!delivery) throw new Error(`${environment.file}: delivery-${environment.name} needs a delivery: section`);
    this.delivery = delivery;
    this.scope = managedScope(environment);
    new EnvironmentAwsProvider(this, "aws", environment);

    const provider = declareOidcProvider(this, "gitlab-provider", {
      url: delivery.gitlab.url,
      clientIds: [delivery.awsAudience],
      tags: { Name: "gitlab-ci" },
      ...(delivery.gitlab.oidcProvider ? { choice: delivery.gitlab.oidcProvider } : {}),
    });
    this.gitlabProviderArn = provider.arn;

    const boundaryDocument = toJson(permissionsBoundaryPolicy(this.scope));
    this.checkSize("permissions boundary", boundaryDocument, IAM_MANAGED_POLICY_LIMIT);
    const boundary = new IamPolicy(this, "permissions-boundary", {
      name: delivery.boundaryPolicyName,
      description: `Permissions boundary of every workload role of ${environment.name} (cluster-identity): the catalog's buckets, through S3 only`,
      policy: boundaryDocument,
    });
    this.permissionsBoundaryArn = boundary.arn;

    const planPool = this.identityPool("plan", delivery.planIdentityPoolName, PLAN_SESSION_TAGS);
    const deployPool = this.identityPool("deploy", delivery.deployIdentityPoolName, DEPLOY_SESSION_TAGS);
    const references: DeliveryReferences = { identityPoolArns: [planPool.arn, deployPool.arn] };
    const projectId = delivery.gitlab.projectId;
    const planRole = this.role("plan", delivery.planRoleName, `GitLab CI plan of ${environment.name}: any branch of ${delivery.gitlab.projectPath} (project ${projectId}), read-only`, {
      trust: toJson(gitlabTrustPolicy({ identityPoolId: planPool.id, projectId })),
      policy: toJson(planRolePolicy(this.scope, references)),
    });
    const deployPolicies = deployRolePolicies(this.scope, references);
    const deployRole = this.role(
      "deploy",
      delivery.deployRoleName,
      `GitLab CI deploy of ${environment.name}: protected branches ${delivery.gitlab.deployBranches.join(", ")} of ${delivery.gitlab.projectPath} (project ${projectId})`,
      { trust: toJson(gitlabTrustPolicy({ identityPoolId: deployPool.id, projectId, deployBranches: delivery.gitlab.deployBranches })), policy: toJson(deployPolicies.permissions) },
    );
    if (deployPolicies.clusters)
      this.attach(deployRole, "deploy-clusters", delivery.deployClustersPolicyName, `Cluster access the ${environment.name} pipeline deploys (cluster-identity)`, deployPolicies.clusters);
    this.attach(deployRole, "deploy-guardrails", delivery.deployGuardrailsPolicyName, `What the ${environment.name} pipeline may never do (cluster-identity)`, deployPolicies.guardrails);
    new CognitoIdentityPoolRolesAttachment(this, "plan-identity-pool-roles", { identityPoolId: planPool.id, roles: { authenticated: planRole.arn } });
    new CognitoIdentityPoolRolesAttachment(this, "deploy-identity-pool-roles", { identityPoolId: deployPool.id, roles: { authenticated: deployRole.arn } });
    this.planRoleArn = planRole.arn;
    this.deployRoleArn = deployRole.arn;
    this.planIdentityPoolId = planPool.id;
    this.deployIdentityPoolId = deployPool.id;
    this.deployRoleArnByName = iamRoleArn(environment.aws.partition, environment.aws.accountId, delivery.deployRoleName);

    for (const cluster of environment.clusters) {
      const eks = this.scope.clusters.find((candidate) => candidate.name === cluster.name)?.eks;
      if (!eks) continue;
      // Namespaced access, never cluster-admin: k8s-identities writes ServiceAccounts and Secrets in the catalog's
      // namespaces of this cluster (edit); the plan role reads them (view). What namespaces cannot express (aws-auth,
      // creating namespaces, reading exactly the Secrets written) goes through groups an administrator binds with the
      // RBAC this stack outputs (lib/kubernetes/pipeline-rbac.ts).
      const access = (id: "plan" | "deploy", role: IamRole, policy: string, groups: readonly string[]) => {
        const entry = new EksAccessEntry(this, deliveryIds.accessEntry(id, cluster), {
          clusterName: cluster.name,
          principalArn: role.arn,
          type: "STANDARD",
          ...(groups.length > 0 ? { kubernetesGroups: [...groups] } : {}),
        });
        if (eks.namespaces.length > 0)
          new EksAccessPolicyAssociation(this, deliveryIds.accessPolicy(id, cluster), {
            clusterName: cluster.name,
            principalArn: entry.principalArn,
            policyArn: `arn:${environment.aws.partition}:eks::aws:cluster-access-policy/${policy}`,
            accessScope: { type: "namespace", namespaces: [...eks.namespaces] },
          });
      };
      const rbac = { awsAuth: this.scope.awsAuth, createdNamespaces: eks.createdNamespaces, secrets: eks.secrets };
      const groups = pipelineGroups(rbac);
      access("plan", planRole, "AmazonEKSViewPolicy", groups.plan);
      access("deploy", deployRole, "AmazonEKSEditPolicy", groups.deploy);
      const manifest = pipelineRbacManifest(rbac);
      if (manifest)
        new TerraformOutput(this, deliveryIds.pipelineRbacOutput(cluster), {
          value: manifest,
          description: `RBAC of the pipeline's groups on ${cluster.name}: apply once as a cluster administrator (terraform output -raw ${deliveryIds.pipelineRbacOutput(cluster)} | kubectl apply -f -)`,
        });
    }

    new TerraformOutput(this, "plan_role_arn", { value: this.planRoleArn, description: "The plan jobs' role (any branch): the plan identity pool's authenticated role" });
    new TerraformOutput(this, "deploy_role_arn", { value: this.deployRoleArn, description: "The deploy jobs' role (protected deploy branches): the deploy identity pool's authenticated role" });
    new TerraformOutput(this, "plan_identity_pool_id", { value: this.planIdentityPoolId, description: "CI/CD variable AWS_PLAN_IDENTITY_POOL_ID: plan jobs, any branch" });
    new TerraformOutput(this, "deploy_identity_pool_id", {
      value: this.deployIdentityPoolId,
      description: "CI/CD variable AWS_DEPLOY_IDENTITY_POOL_ID: deploy jobs, protected deploy branches",
    });
    new TerraformOutput(this, "permissions_boundary_arn", { value: this.permissionsBoundaryArn, description: "Permissions boundary of every workload role" });
    new TerraformOutput(this, "gitlab_oidc_provider_arn", { value: this.gitlabProviderArn, description: "IAM OIDC provider of the GitLab URL" });
    new TerraformOutput(this, "aws_id_token_audience", { value: delivery.awsAudience, description: "aud of the id_token for AWS (.gitlab-ci.yml id_tokens)" });

    if (environment.catalog.gcp && delivery.google) this.google = this.declareGoogle(environment, delivery);
  }

  /** A pipeline identity pool: GitLab id_tokens only (no guests, no classic flow), their claims as session tags. */
  private identityPool(id: string, name: string, tags: readonly string[]): CognitoIdentityPool {
    const pool = new CognitoIdentityPool(this, `${id}-identity-pool`, {
      identityPoolName: name,
      allowUnauthenticatedIdentities: false,
      allowClassicFlow: false,
      openidConnectProviderArns: [this.gitlabProviderArn],
    });
    new CognitoIdentityPoolProviderPrincipalTag(this, `${id}-identity-pool-tags`, {
      identityPoolId: pool.id,
      identityProviderName: this.delivery.gitlab.hostPath,
      useDefaults: false,
      principalTags: principalTagMapping(tags),
    });
    return pool;
  }

  private checkSize(what: string, document: string, limit: number): void {
    if (document.length > limit)
      throw new Error(
        `${this.environment.file}: delivery: the ${what} is ${document.length} characters, IAM allows ${limit}; the catalog names too many buckets, roles and access entries for one environment's pipeline identity — split the environment`,
      );
  }

  /** A managed policy of a delivery role, attached to it. */
  private attach(role: IamRole, id: string, name: string, description: string, document: PolicyDocument): void {
    const policy = toJson(document);
    this.checkSize(`${name} policy`, policy, IAM_MANAGED_POLICY_LIMIT);
    const managed = new IamPolicy(this, `${id}-policy`, { name, description, policy });
    new IamRolePolicyAttachment(this, `${id}-attachment`, { role: role.name, policyArn: managed.arn });
  }

  private role(id: string, name: string, description: string, documents: { readonly trust: string; readonly policy: string }): IamRole {
    // IAM counts a role's inline policies without whitespace; JSON.stringify writes none.
    this.checkSize(`${id} role's policy`, documents.policy, IAM_INLINE_POLICY_LIMIT);
    const role = new IamRole(this, `${id}-role`, { name, description, assumeRolePolicy: documents.trust, maxSessionDuration: 3600 });
    new IamRolePolicy(this, `${id}-policy`, { name: `${id}-permissions`, role: role.id, policy: documents.policy });
    return role;
  }

  private declareGoogle(environment: Environment, delivery: Delivery): NonNullable<DeliveryStack["google"]> {
    const gcp = environment.catalog.gcp!;
    const google = delivery.google!;
    new EnvironmentGoogleProvider(this, "google", environment);
    // The pool, its provider and the service accounts live in the delivery project, which the deploy service
    // account does not administer: it can change none of them, nor their IAM policies.
    const ref = { projectNumber: google.projectNumber, poolId: google.poolId, providerId: google.providerId };
    const audience = deliveryProviderAudience(ref);

    const pool = new IamWorkloadIdentityPool(this, "delivery-pool", {
      project: google.projectId,
      workloadIdentityPoolId: google.poolId,
      displayName: `GitLab CI ${environment.name}`.slice(0, 32),
      description: `Pipelines of ${delivery.gitlab.projectPath} deploying ${environment.name} (cluster-identity delivery)`,
    });
    const provider = new IamWorkloadIdentityPoolProvider(this, "gitlab-provider-google", {
      project: google.projectId,
      workloadIdentityPoolId: pool.workloadIdentityPoolId,
      workloadIdentityPoolProviderId: google.providerId,
      displayName: "GitLab CI",
      description: `id_tokens of ${delivery.gitlab.url}, project ${delivery.gitlab.projectPath} (${delivery.gitlab.projectId}) only`,
      oidc: { issuerUri: delivery.gitlab.url, allowedAudiences: [audience] },
      attributeMapping: deliveryAttributeMapping(delivery.gitlab.deployBranches),
      attributeCondition: deliveryAttributeCondition(delivery.gitlab),
    });

    const workloads = environment.catalog.workloads.flatMap((workload) => (workload.gcp ? [workload.gcp] : []));
    const datasetGrants = workloads.flatMap((access) => access.datasetRoles);
    const serviceAccount = (id: string, accountId: string, displayName: string) =>
      new ServiceAccount(this, id, {
        project: google.projectId,
        accountId,
        displayName,
        description: `GitLab CI (${delivery.gitlab.projectPath}) for ${environment.name}, cluster-identity delivery`,
      });
    const plan = serviceAccount("plan-service-account", google.planServiceAccountId, `CI plan ${environment.name}`);
    const deploy = serviceAccount("deploy-service-account", google.deployServiceAccountId, `CI deploy ${environment.name}`);

    for (const role of planServiceAccountRoles({ enableApis: gcp.enableApis, datasetGrants: datasetGrants.length > 0 }))
      new ProjectIamMember(this, `plan-${roleConstructId(role)}`, { project: gcp.projectId, role, member: plan.member });
    for (const role of DELIVERY_PROJECT_PLAN_ROLES)
      new ProjectIamMember(this, `plan-delivery-${roleConstructId(role)}`, { project: google.projectId, role, member: plan.member });
    for (const role of deployServiceAccountRoles({ enableApis: gcp.enableApis }))
      new ProjectIamMember(this, `deploy-${roleConstructId(role)}`, { project: gcp.projectId, role, member: deploy.member });
    const projectRoles = [...new Set(workloads.flatMap((access) => access.projectRoles))].sort();
    new ProjectIamMember(this, "deploy-project-iam-admin", {
      project: gcp.projectId,
      role: PROJECT_IAM_ADMIN_ROLE,
      member: deploy.member,
      condition: {
        title: "catalog roles only",
        description: `Grants and revocations of the catalog's project roles only (${environment.file})`,
        expression: modifiedGrantsCondition(projectRoles),
      },
    });
    if (datasetGrants.length > 0) {
      const custom = new ProjectIamCustomRole(this, "dataset-iam-role", {
        project: gcp.projectId,
        roleId: datasetIamRoleId(environment.name),
        title: `cluster-identity dataset IAM (${environment.name})`,
        description: "Manage dataset-level grants (no access to table data)",
        permissions: DATASET_IAM_PERMISSIONS,
      });
      new ProjectIamMember(this, "deploy-dataset-iam", {
        project: gcp.projectId,
        role: custom.name,
        member: deploy.member,
        condition: {
          title: "catalog datasets and roles only",
          expression: datasetIamCondition(
            gcp.projectId,
            datasetGrants.map((grant) => grant.dataset),
            datasetGrants.map((grant) => grant.role),
          ),
        },
      });
    }

    new ServiceAccountIamMember(this, "plan-workload-identity-user", {
      serviceAccountId: plan.name,
      role: WORKLOAD_IDENTITY_USER_ROLE,
      member: planPrincipalSet(ref, delivery.gitlab.projectId),
      dependsOn: [pool],
    });
    new ServiceAccountIamMember(this, "deploy-workload-identity-user", {
      serviceAccountId: deploy.name,
      role: WORKLOAD_IDENTITY_USER_ROLE,
      member: deployPrincipalSet(ref, delivery.gitlab.projectId),
      dependsOn: [pool],
    });

    new TerraformOutput(this, "gcp_workload_identity_provider", {
      value: provider.name,
      description: `CI/CD variable GCP_WORKLOAD_IDENTITY_PROVIDER (${providerResourceName(ref)})`,
    });
    new TerraformOutput(this, "gcp_plan_service_account", { value: plan.email, description: "CI/CD variable GCP_PLAN_SERVICE_ACCOUNT" });
    new TerraformOutput(this, "gcp_deploy_service_account", { value: deploy.email, description: "CI/CD variable GCP_DEPLOY_SERVICE_ACCOUNT" });
    new TerraformOutput(this, "gcp_id_token_audience", { value: audience, description: "aud of the id_token for Google (.gitlab-ci.yml id_tokens)" });
    return { providerName: providerResourceName(ref), audience, planServiceAccountEmail: plan.email, deployServiceAccountEmail: deploy.email };
  }
}
