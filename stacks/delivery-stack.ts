import { Construct } from "constructs";
import { TerraformOutput } from "cdktf";
import { EksAccessEntry } from "@cdktf/provider-aws/lib/eks-access-entry";
import { EksAccessPolicyAssociation } from "@cdktf/provider-aws/lib/eks-access-policy-association";
import { IamPolicy } from "@cdktf/provider-aws/lib/iam-policy";
import { IamRole } from "@cdktf/provider-aws/lib/iam-role";
import { IamRolePolicy } from "@cdktf/provider-aws/lib/iam-role-policy";
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
import { deployRolePolicy, gitlabTrustPolicy, permissionsBoundaryPolicy, planRolePolicy } from "../lib/delivery/aws-policies";
import {
  DATASET_IAM_PERMISSIONS,
  datasetIamRoleId,
  deliveryAttributeCondition,
  deliveryAttributeMapping,
  deliveryProviderAudience,
  deployPrincipalSet,
  deployServiceAccountRoles,
  modifiedGrantsCondition,
  planPrincipalSet,
  planServiceAccountRoles,
  PROJECT_IAM_ADMIN_ROLE,
} from "../lib/delivery/google";
import { managedScope, ManagedScope } from "../lib/delivery/scope";
import { providerResourceName, roleConstructId, WORKLOAD_IDENTITY_USER_ROLE } from "../lib/gcp/resource-names";
import { toJson } from "../lib/iam/policy-document";
import { EnvironmentStack } from "./environment-stack";

/** The deploy role's ARN, from names alone: for wiring that must not wait for a cross-stack reference. */
export function deliveryDeployRoleArn(environment: Environment): string | undefined {
  const delivery = environment.delivery;
  return delivery ? iamRoleArn(environment.aws.partition, environment.aws.accountId, delivery.deployRoleName) : undefined;
}

/** IAM's limit on the inline policies of one role (characters, whitespace not counted). */
export const IAM_INLINE_POLICY_LIMIT = 10_240;


/**
 * `delivery-<env>`: the identities of the GitLab pipeline that deploys this environment, deployed first and
 * by an administrator (every other stack then goes through the pipeline).
 *
 * AWS: the IAM OIDC provider for the GitLab URL (unless used or imported); a plan role for any branch of the
 * project (read-only, state lock files only); a deploy role for the protected deploy branches (the app's
 * resources by name, roles only with the boundary, explicit denies); the permissions boundary every workload
 * role of aws-workloads and gitlab-storage carries; on EKS, namespaced cluster access for both.
 * Google (with `gcp:`): a delivery pool with a GitLab provider admitting only this project, a plan and a
 * deploy service account, the latter's IAM administration limited by condition to the catalog's roles.
 */
export class DeliveryStack extends EnvironmentStack {
  readonly delivery: Delivery;
  readonly scope: ManagedScope;
  /** References to the roles (the values CI/CD variables take). */
  readonly planRoleArn: string;
  readonly deployRoleArn: string;
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

    const boundary = new IamPolicy(this, "permissions-boundary", {
      name: delivery.boundaryPolicyName,
      description: `Permissions boundary of every workload role of ${environment.name} (cluster-identity): S3 and KMS via S3 only`,
      policy: toJson(permissionsBoundaryPolicy(environment.aws.region)),
    });
    this.permissionsBoundaryArn = boundary.arn;

    const trust = { providerArn: provider.arn, hostPath: delivery.gitlab.hostPath, audience: delivery.awsAudience, projectPath: delivery.gitlab.projectPath };
    const planRole = this.role("plan", delivery.planRoleName, `GitLab CI plan of ${environment.name}: any branch of ${delivery.gitlab.projectPath}, read-only`, {
      trust: toJson(gitlabTrustPolicy(trust)),
      policy: toJson(planRolePolicy(this.scope)),
    });
    const deployRole = this.role(
      "deploy",
      delivery.deployRoleName,
      `GitLab CI deploy of ${environment.name}: protected branches ${delivery.gitlab.deployBranches.join(", ")} of ${delivery.gitlab.projectPath}`,
      { trust: toJson(gitlabTrustPolicy({ ...trust, branches: delivery.gitlab.deployBranches })), policy: toJson(deployRolePolicy(this.scope)) },
    );
    this.planRoleArn = planRole.arn;
    this.deployRoleArn = deployRole.arn;
    this.deployRoleArnByName = iamRoleArn(environment.aws.partition, environment.aws.accountId, delivery.deployRoleName);

    const eks = this.scope.eks;
    if (eks) {
      // Namespaced access, never cluster-admin: k8s-identities writes ServiceAccounts and Secrets in the catalog's
      // namespaces (edit); the plan role reads them (view). aws-auth: group cluster-identity:aws-auth-writers (README).
      const access = (id: string, role: IamRole, policy: string, groups: readonly string[]) => {
        const entry = new EksAccessEntry(this, `${id}-access-entry`, {
          clusterName: eks.clusterName,
          principalArn: role.arn,
          type: "STANDARD",
          ...(groups.length > 0 ? { kubernetesGroups: [...groups] } : {}),
        });
        if (eks.namespaces.length > 0)
          new EksAccessPolicyAssociation(this, `${id}-access-policy`, {
            clusterName: eks.clusterName,
            principalArn: entry.principalArn,
            policyArn: `arn:${environment.aws.partition}:eks::aws:cluster-access-policy/${policy}`,
            accessScope: { type: "namespace", namespaces: [...eks.namespaces] },
          });
      };
      access("plan", planRole, "AmazonEKSViewPolicy", []);
      access("deploy", deployRole, "AmazonEKSEditPolicy", eks.awsAuth ? ["cluster-identity:aws-auth-writers"] : []);
    }

    new TerraformOutput(this, "plan_role_arn", { value: this.planRoleArn, description: "CI/CD variable AWS_PLAN_ROLE_ARN: plan jobs, any branch" });
    new TerraformOutput(this, "deploy_role_arn", { value: this.deployRoleArn, description: "CI/CD variable AWS_DEPLOY_ROLE_ARN: deploy jobs, protected deploy branches" });
    new TerraformOutput(this, "permissions_boundary_arn", { value: this.permissionsBoundaryArn, description: "Permissions boundary of every workload role" });
    new TerraformOutput(this, "gitlab_oidc_provider_arn", { value: this.gitlabProviderArn, description: "IAM OIDC provider of the GitLab URL" });
    new TerraformOutput(this, "aws_id_token_audience", { value: delivery.awsAudience, description: "aud of the id_token for AWS (.gitlab-ci.yml id_tokens)" });

    if (environment.catalog.gcp && delivery.google) this.google = this.declareGoogle(environment, delivery);
  }

  private role(id: string, name: string, description: string, documents: { readonly trust: string; readonly policy: string }): IamRole {
    // IAM counts a role's inline policies without whitespace; JSON.stringify writes none.
    if (documents.policy.length > IAM_INLINE_POLICY_LIMIT)
      throw new Error(
        `${this.environment.file}: delivery: the ${id} role's policy is ${documents.policy.length} characters, IAM allows ${IAM_INLINE_POLICY_LIMIT} per role; the catalog names too many buckets and roles for one environment's pipeline identity — split the environment`,
      );
    const role = new IamRole(this, `${id}-role`, { name, description, assumeRolePolicy: documents.trust, maxSessionDuration: 3600 });
    new IamRolePolicy(this, `${id}-policy`, { name: `${id}-permissions`, role: role.id, policy: documents.policy });
    return role;
  }

  private declareGoogle(environment: Environment, delivery: Delivery): NonNullable<DeliveryStack["google"]> {
    const gcp = environment.catalog.gcp!;
    const google = delivery.google!;
    new EnvironmentGoogleProvider(this, "google", environment);
    const ref = { projectNumber: gcp.projectNumber, poolId: google.poolId, providerId: google.providerId };
    const audience = deliveryProviderAudience(ref);

    const pool = new IamWorkloadIdentityPool(this, "delivery-pool", {
      project: gcp.projectId,
      workloadIdentityPoolId: google.poolId,
      displayName: `GitLab CI ${environment.name}`.slice(0, 32),
      description: `Pipelines of ${delivery.gitlab.projectPath} deploying ${environment.name} (cluster-identity delivery)`,
    });
    const provider = new IamWorkloadIdentityPoolProvider(this, "gitlab-provider-google", {
      project: gcp.projectId,
      workloadIdentityPoolId: pool.workloadIdentityPoolId,
      workloadIdentityPoolProviderId: google.providerId,
      displayName: "GitLab CI",
      description: `id_tokens of ${delivery.gitlab.url}, project ${delivery.gitlab.projectPath} only`,
      oidc: { issuerUri: delivery.gitlab.url, allowedAudiences: [audience] },
      attributeMapping: deliveryAttributeMapping(),
      attributeCondition: deliveryAttributeCondition(delivery.gitlab.projectPath),
    });

    const workloads = environment.catalog.workloads.flatMap((workload) => (workload.gcp ? [workload.gcp] : []));
    const datasetGrants = workloads.some((access) => access.datasetRoles.length > 0);
    const serviceAccount = (id: string, accountId: string, displayName: string) =>
      new ServiceAccount(this, id, {
        project: gcp.projectId,
        accountId,
        displayName,
        description: `GitLab CI (${delivery.gitlab.projectPath}) for ${environment.name}, cluster-identity delivery`,
      });
    const plan = serviceAccount("plan-service-account", google.planServiceAccountId, `CI plan ${environment.name}`);
    const deploy = serviceAccount("deploy-service-account", google.deployServiceAccountId, `CI deploy ${environment.name}`);

    for (const role of planServiceAccountRoles({ enableApis: gcp.enableApis, datasetGrants }))
      new ProjectIamMember(this, `plan-${roleConstructId(role)}`, { project: gcp.projectId, role, member: plan.member });
    for (const role of deployServiceAccountRoles({ enableApis: gcp.enableApis })) {
      new ProjectIamMember(this, `deploy-${roleConstructId(role)}`, { project: gcp.projectId, role, member: deploy.member });
    }
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
    if (datasetGrants) {
      const datasetRoles = [...new Set(workloads.flatMap((access) => access.datasetRoles.map((grant) => grant.role)))].sort();
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
        condition: { title: "catalog dataset roles only", expression: modifiedGrantsCondition(datasetRoles) },
      });
    }

    new ServiceAccountIamMember(this, "plan-workload-identity-user", {
      serviceAccountId: plan.name,
      role: WORKLOAD_IDENTITY_USER_ROLE,
      member: planPrincipalSet(ref, delivery.gitlab.projectPath),
      dependsOn: [pool],
    });
    for (const branch of delivery.gitlab.deployBranches) {
      new ServiceAccountIamMember(this, `deploy-workload-identity-user-${branch.replace(/[^A-Za-z0-9-]/g, "_")}`, {
        serviceAccountId: deploy.name,
        role: WORKLOAD_IDENTITY_USER_ROLE,
        member: deployPrincipalSet(ref, delivery.gitlab.projectPath, branch),
        dependsOn: [pool],
      });
    }

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
