/**
 * The AWS policies of the pipeline's identities (delivery-<env>), as pure functions of the managed scope:
 *
 * - trust: GitLab CI id_tokens of this project only — any branch for the plan role, the deploy branches for
 *   the deploy role (`sub` = `project_path:<path>:ref_type:branch:ref:<branch>`, `aud` exact);
 * - the plan role reads what the stacks manage and the environment's state, and writes only state lock files;
 * - the deploy role manages only what the app names, creates or changes a role only with the permissions
 *   boundary attached, and is explicitly denied the ways out (users, keys, broad managed policies, the
 *   boundary, the delivery identities themselves, role chaining);
 * - the permissions boundary: the ceiling of every workload role — the S3 and KMS actions workloads use.
 */
import { FORBIDDEN_MANAGED_POLICIES } from "../iam/managed-policies";
import { policyDocument, PolicyDocument, PolicyStatement } from "../iam/policy-document";
import { READ_OBJECT_ACTIONS, WRITE_OBJECT_ACTIONS } from "../iam/s3-grants";
import { gitlabBranchSubject } from "../config/delivery";
import { ENVIRONMENT_TAG_KEY, MANAGED_BY_TAG, ManagedScope, scopeArns } from "./scope";

export interface GitlabTrustInput {
  /** ARN of the IAM OIDC provider for the GitLab URL. */
  readonly providerArn: string;
  /** The GitLab URL without `https://`: the condition-key prefix. */
  readonly hostPath: string;
  readonly audience: string;
  readonly projectPath: string;
  /** The deploy branches; undefined: any branch of the project (plan). */
  readonly branches?: readonly string[];
}

/**
 * Web identity from GitLab CI. Plan: `StringLike` on `sub` = `project_path:<path>:ref_type:branch:ref:*` —
 * the project path is literal (the config refuses wildcards in it), only the branch is open. Deploy:
 * `StringEquals` on the exact subjects of the deploy branches. Both: `StringEquals` on `aud`.
 */
export function gitlabTrustPolicy(input: GitlabTrustInput): PolicyDocument {
  const aud = { [`${input.hostPath}:aud`]: input.audience };
  const sub = `${input.hostPath}:sub`;
  return policyDocument({
    Sid: input.branches ? "GitlabDeployBranches" : "GitlabAnyBranch",
    Effect: "Allow",
    Principal: { Federated: input.providerArn },
    Action: "sts:AssumeRoleWithWebIdentity",
    Condition: input.branches
      ? { StringEquals: { ...aud, [sub]: input.branches.map((branch) => gitlabBranchSubject(input.projectPath, branch)) } }
      : { StringEquals: aud, StringLike: { [sub]: gitlabBranchSubject(input.projectPath, "*") } },
  });
}

/** What Terraform reads of an S3 bucket (aws_s3_bucket and its configuration resources; HeadBucket = ListBucket). */
export const BUCKET_READ_ACTIONS = [
  "s3:ListBucket",
  "s3:GetBucket*",
  "s3:GetAccelerateConfiguration",
  "s3:GetEncryptionConfiguration",
  "s3:GetLifecycleConfiguration",
  "s3:GetReplicationConfiguration",
];
const BUCKET_WRITE_ACTIONS = ["s3:CreateBucket", "s3:PutBucket*", "s3:DeleteBucketPolicy", "s3:PutEncryptionConfiguration", "s3:PutLifecycleConfiguration"];

const ROLE_READ_ACTIONS = ["iam:GetRole", "iam:GetRolePolicy", "iam:ListRolePolicies", "iam:ListAttachedRolePolicies", "iam:ListRoleTags"];
const POLICY_READ_ACTIONS = ["iam:GetPolicy", "iam:GetPolicyVersion", "iam:ListPolicyVersions", "iam:ListPolicyTags"];
const KEY_READ_ACTIONS = ["kms:DescribeKey", "kms:GetKeyPolicy", "kms:GetKeyRotationStatus", "kms:ListResourceTags"];

/** Role changes that can add permissions: allowed only with the boundary (`iam:PermissionsBoundary`). */
export const BOUNDED_ROLE_ACTIONS = [
  "iam:CreateRole",
  "iam:PutRolePermissionsBoundary",
  "iam:PutRolePolicy",
  "iam:DeleteRolePolicy",
  "iam:AttachRolePolicy",
  "iam:DetachRolePolicy",
];

/** Every IAM change an identity could make to an entity: denied on the delivery identities themselves. */
export const IAM_CHANGE_ACTIONS = [
  "iam:Add*",
  "iam:Attach*",
  "iam:Create*",
  "iam:Delete*",
  "iam:Detach*",
  "iam:PassRole",
  "iam:Put*",
  "iam:Remove*",
  "iam:Set*",
  "iam:Tag*",
  "iam:Untag*",
  "iam:Update*",
];

/** The S3 actions workload roles are granted (lib/iam/s3-grants, lib/gitlab/policies). */
export const BOUNDARY_S3_ACTIONS = [
  "s3:GetBucketLocation",
  "s3:ListBucket",
  "s3:ListBucketMultipartUploads",
  ...READ_OBJECT_ACTIONS,
  ...WRITE_OBJECT_ACTIONS,
];
/** The KMS actions workload roles are granted: data keys through S3 only. */
export const BOUNDARY_KMS_ACTIONS = ["kms:Decrypt", "kms:GenerateDataKey"];
/** What no workload role may ever do, even if a policy attached to it says otherwise. */
export const BOUNDARY_DENIED_ACTIONS = ["iam:*", "sts:AssumeRole", "organizations:*", "account:*"];

function tagConditions(prefix: "aws:RequestTag" | "aws:ResourceTag", environmentName: string): Record<string, string> {
  return { [`${prefix}/${MANAGED_BY_TAG.key}`]: MANAGED_BY_TAG.value, [`${prefix}/${ENVIRONMENT_TAG_KEY}`]: environmentName };
}

function stateStatements(scope: ManagedScope, write: "locks" | "state-and-locks"): PolicyStatement[] {
  const arns = scopeArns(scope);
  return [
    { Sid: "ListState", Effect: "Allow", Action: "s3:ListBucket", Resource: arns.stateBucket, Condition: { StringLike: { "s3:prefix": [`${scope.delivery.state.keyPrefix}/*`] } } },
    { Sid: "ReadState", Effect: "Allow", Action: "s3:GetObject", Resource: arns.stateObjects },
    write === "locks"
      ? { Sid: "WriteStateLocks", Effect: "Allow", Action: ["s3:PutObject", "s3:DeleteObject"], Resource: arns.stateLocks }
      : { Sid: "WriteStateAndLocks", Effect: "Allow", Action: ["s3:PutObject", "s3:DeleteObject"], Resource: [arns.stateFiles, arns.stateLocks] },
  ];
}

const denyRoleChaining: PolicyStatement = { Sid: "DenyRoleChaining", Effect: "Deny", Action: "sts:AssumeRole", Resource: "*" };

/** Read-only: what `terraform plan` of the environment's stacks reads, and nothing it could change. */
export function planRolePolicy(scope: ManagedScope): PolicyDocument {
  const arns = scopeArns(scope);
  const statements: PolicyStatement[] = [
    ...stateStatements(scope, "locks"),
    ...(arns.buckets.length > 0 ? [{ Sid: "ReadStackBuckets", Effect: "Allow" as const, Action: BUCKET_READ_ACTIONS, Resource: arns.buckets }] : []),
    ...(arns.issuerObjects.length > 0
      ? [{ Sid: "ReadIssuerDocuments", Effect: "Allow" as const, Action: ["s3:GetObject", "s3:GetObjectTagging"], Resource: arns.issuerObjects }]
      : []),
    {
      Sid: "ReadIdentities",
      Effect: "Allow",
      Action: [...ROLE_READ_ACTIONS, ...POLICY_READ_ACTIONS, "iam:GetOpenIDConnectProvider"],
      Resource: [...arns.workloadRoles, arns.planRole, arns.deployRole, ...arns.policies, arns.boundary, arns.clusterProvider, arns.gitlabProvider].filter(unique),
    },
    // Key ids are assigned at creation: reads on the account's keys in the region (no data use: no Decrypt).
    { Sid: "ReadKeys", Effect: "Allow", Action: KEY_READ_ACTIONS, Resource: arns.keys },
    { Sid: "ListAliases", Effect: "Allow", Action: "kms:ListAliases", Resource: "*" },
    ...(arns.cluster
      ? [
          {
            Sid: "ReadCluster",
            Effect: "Allow" as const,
            Action: ["eks:DescribeCluster", "eks:DescribeAccessEntry", "eks:ListAssociatedAccessPolicies", "eks:DescribePodIdentityAssociation"],
            Resource: [arns.cluster, arns.accessEntries!, arns.podIdentityAssociations!],
          },
        ]
      : []),
    denyRoleChaining,
  ];
  return policyDocument(...statements);
}

function unique(value: string, index: number, all: readonly string[]): boolean {
  return all.indexOf(value) === index;
}

/** The deploy role's permissions: the app's resources by name (keys by tag), roles only with the boundary. */
export function deployRolePolicy(scope: ManagedScope): PolicyDocument {
  const arns = scopeArns(scope);
  const env = scope.environmentName;
  const boundary = { StringEquals: { "iam:PermissionsBoundary": arns.boundary } };
  const allow: PolicyStatement[] = [
    ...stateStatements(scope, "state-and-locks"),
    ...(arns.buckets.length > 0
      ? [{ Sid: "ManageStackBuckets", Effect: "Allow" as const, Action: [...BUCKET_READ_ACTIONS, ...BUCKET_WRITE_ACTIONS], Resource: arns.buckets }]
      : []),
    ...(arns.issuerObjects.length > 0
      ? [
          {
            Sid: "ManageIssuerDocuments",
            Effect: "Allow" as const,
            Action: ["s3:GetObject", "s3:GetObjectTagging", "s3:PutObject", "s3:PutObjectTagging", "s3:DeleteObject"],
            Resource: arns.issuerObjects,
          },
        ]
      : []),
    ...(arns.workloadRoles.length > 0
      ? [
          { Sid: "ChangeWorkloadRolesWithBoundary", Effect: "Allow" as const, Action: BOUNDED_ROLE_ACTIONS, Resource: arns.workloadRoles, Condition: boundary },
          {
            Sid: "ManageWorkloadRoles",
            Effect: "Allow" as const,
            Action: [
              ...ROLE_READ_ACTIONS,
              "iam:DeleteRole",
              "iam:UpdateRole",
              "iam:UpdateRoleDescription",
              "iam:UpdateAssumeRolePolicy",
              "iam:TagRole",
              "iam:UntagRole",
              "iam:ListInstanceProfilesForRole",
            ],
            Resource: arns.workloadRoles,
          },
        ]
      : []),
    ...(scope.podIdentity && arns.workloadRoles.length > 0
      ? [
          {
            Sid: "PassWorkloadRolesToPodIdentity",
            Effect: "Allow" as const,
            Action: "iam:PassRole",
            Resource: arns.workloadRoles,
            Condition: { StringEquals: { "iam:PassedToService": "pods.eks.amazonaws.com" } },
          },
        ]
      : []),
    ...(arns.policies.length > 0
      ? [
          {
            Sid: "ManageGitlabPolicies",
            Effect: "Allow" as const,
            Action: [...POLICY_READ_ACTIONS, "iam:CreatePolicy", "iam:CreatePolicyVersion", "iam:DeletePolicyVersion", "iam:DeletePolicy", "iam:TagPolicy", "iam:UntagPolicy"],
            Resource: arns.policies,
          },
        ]
      : []),
    {
      Sid: "ManageClusterProvider",
      Effect: "Allow",
      Action: [
        "iam:CreateOpenIDConnectProvider",
        "iam:GetOpenIDConnectProvider",
        "iam:DeleteOpenIDConnectProvider",
        "iam:UpdateOpenIDConnectProviderThumbprint",
        "iam:AddClientIDToOpenIDConnectProvider",
        "iam:RemoveClientIDFromOpenIDConnectProvider",
        "iam:TagOpenIDConnectProvider",
        "iam:UntagOpenIDConnectProvider",
      ],
      Resource: arns.clusterProvider,
    },
    // KMS assigns key ids at creation: keys are scoped by the tags the provider puts on everything it creates.
    { Sid: "CreateTaggedKeys", Effect: "Allow", Action: ["kms:CreateKey", "kms:TagResource"], Resource: ["*"], Condition: { StringEquals: tagConditions("aws:RequestTag", env) } },
    {
      Sid: "ManageTaggedKeys",
      Effect: "Allow",
      Action: [...KEY_READ_ACTIONS, "kms:PutKeyPolicy", "kms:EnableKeyRotation", "kms:UpdateKeyDescription", "kms:TagResource", "kms:UntagResource", "kms:CreateAlias", "kms:DeleteAlias", "kms:UpdateAlias"],
      Resource: arns.keys,
      Condition: { StringEquals: tagConditions("aws:ResourceTag", env) },
    },
    { Sid: "ReadKeys", Effect: "Allow", Action: "kms:DescribeKey", Resource: arns.keys },
    { Sid: "ListAliases", Effect: "Allow", Action: "kms:ListAliases", Resource: "*" },
    ...(arns.aliases.length > 0 ? [{ Sid: "ManageAliases", Effect: "Allow" as const, Action: ["kms:CreateAlias", "kms:DeleteAlias", "kms:UpdateAlias"], Resource: arns.aliases }] : []),
  ];
  if (arns.cluster && scope.eks) {
    allow.push({ Sid: "DescribeCluster", Effect: "Allow", Action: "eks:DescribeCluster", Resource: arns.cluster });
    if (scope.podIdentity)
      allow.push({
        Sid: "ManagePodIdentityAssociations",
        Effect: "Allow",
        Action: [
          "eks:CreatePodIdentityAssociation",
          "eks:DescribePodIdentityAssociation",
          "eks:UpdatePodIdentityAssociation",
          "eks:DeletePodIdentityAssociation",
          "eks:TagResource",
          "eks:UntagResource",
        ],
        Resource: [arns.cluster, arns.podIdentityAssociations!],
      });
    if (scope.eks.accessEntries)
      allow.push({
        Sid: "ManageAccessEntries",
        Effect: "Allow",
        Action: [
          "eks:CreateAccessEntry",
          "eks:DescribeAccessEntry",
          "eks:UpdateAccessEntry",
          "eks:DeleteAccessEntry",
          "eks:AssociateAccessPolicy",
          "eks:DisassociateAccessPolicy",
          "eks:ListAssociatedAccessPolicies",
          "eks:TagResource",
          "eks:UntagResource",
        ],
        Resource: [arns.cluster, arns.accessEntries!],
      });
  }

  const deny: PolicyStatement[] = [
    { Sid: "DenyUsersAndKeys", Effect: "Deny", Action: ["iam:CreateUser", "iam:CreateAccessKey", "iam:CreateLoginProfile", "iam:CreateServiceSpecificCredential"], Resource: "*" },
    {
      Sid: "DenyBroadManagedPolicies",
      Effect: "Deny",
      Action: ["iam:AttachRolePolicy", "iam:AttachUserPolicy", "iam:AttachGroupPolicy"],
      Resource: "*",
      Condition: {
        ArnLike: { "iam:PolicyARN": FORBIDDEN_MANAGED_POLICIES.flatMap((name) => [`arn:${scope.partition}:iam::aws:policy/${name}`, `arn:${scope.partition}:iam::aws:policy/*/${name}`]) },
      },
    },
    { Sid: "DenyRolesWithoutBoundary", Effect: "Deny", Action: ["iam:CreateRole", "iam:PutRolePermissionsBoundary"], Resource: "*", Condition: { StringNotEquals: { "iam:PermissionsBoundary": arns.boundary } } },
    { Sid: "DenyBoundaryRemoval", Effect: "Deny", Action: "iam:DeleteRolePermissionsBoundary", Resource: "*" },
    // The boundary, the delivery roles and the GitLab provider are an administrator's (delivery-<env>).
    { Sid: "DenyDeliveryChanges", Effect: "Deny", Action: IAM_CHANGE_ACTIONS, Resource: [arns.boundary, arns.planRole, arns.deployRole, arns.gitlabProvider] },
    { Sid: "DenyDeliveryState", Effect: "Deny", Action: ["s3:PutObject", "s3:DeleteObject"], Resource: arns.deliveryState },
    ...(arns.deliveryAccessEntries
      ? [
          {
            Sid: "DenyDeliveryClusterAccessChanges",
            Effect: "Deny" as const,
            Action: ["eks:UpdateAccessEntry", "eks:DeleteAccessEntry", "eks:AssociateAccessPolicy", "eks:DisassociateAccessPolicy"],
            Resource: arns.deliveryAccessEntries,
          },
        ]
      : []),
    denyRoleChaining,
  ];
  return policyDocument(...allow, ...deny);
}

/**
 * The permissions boundary of every workload role: at most the S3 and KMS (through S3) actions workloads are
 * granted, on any bucket and key — the roles' own policies name the ARNs; the boundary is their ceiling, and
 * whatever else a policy attached to a workload role grants (IAM, role chaining, Organizations, account
 * settings, any other service) has no effect.
 */
export function permissionsBoundaryPolicy(region: string): PolicyDocument {
  return policyDocument(
    { Sid: "WorkloadObjectStorage", Effect: "Allow", Action: BOUNDARY_S3_ACTIONS, Resource: "*" },
    { Sid: "WorkloadDataKeysViaS3", Effect: "Allow", Action: BOUNDARY_KMS_ACTIONS, Resource: "*", Condition: { StringEquals: { "kms:ViaService": `s3.${region}.amazonaws.com` } } },
    { Sid: "DenyPrivilegeEscalation", Effect: "Deny", Action: BOUNDARY_DENIED_ACTIONS, Resource: "*" },
  );
}
