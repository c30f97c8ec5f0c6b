/**
 * The AWS policies of the pipeline's identities (delivery-<env>), as pure functions of the managed scope:
 *
 * - trust: a Cognito identity pool per role turns the claims of a GitLab CI id_token into session tags, and each
 *   role's trust requires them: the project by its immutable id (plan: any branch), and for the deploy role also
 *   a protected ref that is one of the deploy branches — what IAM's own GitLab trust (`sub` only) cannot express;
 * - the plan role reads what the stacks manage and the environment's state, and is denied every other action,
 *   whatever a resource policy may grant it;
 * - the deploy role manages only what the environment's stacks declare, creates or changes a role only with the
 *   permissions boundary attached, and is explicitly denied data, keys' cryptography, the delivery identities,
 *   providers it only uses, and the ways out (users, keys, broad managed policies, role chaining);
 * - the permissions boundary: the ceiling of every workload role — the catalog's buckets, through S3 only.
 */
import { FORBIDDEN_MANAGED_POLICIES } from "../iam/managed-policies";
import { policyDocument, PolicyDocument, PolicyStatement } from "../iam/policy-document";
import { READ_OBJECT_ACTIONS, WRITE_OBJECT_ACTIONS } from "../iam/s3-grants";
import type { AccessMapping } from "../config/catalog";
import { ManagedScope, scopeArns } from "./scope";

// --- Trust: GitLab id_tokens through a Cognito identity pool -------------------------------------------------

/** The service that assumes the role for a Cognito identity pool's identities (the enhanced flow). */
export const IDENTITY_POOL_SERVICE = "cognito-identity.amazonaws.com";

/** GitLab id_token claims the pools copy into session tags (tag key = claim name), and what each role requires. */
export const PLAN_SESSION_TAGS = ["project_id", "ref_type"] as const;
export const DEPLOY_SESSION_TAGS = ["project_id", "ref", "ref_protected", "ref_type"] as const;

/** The principal-tag map of an identity pool: each tag takes the value of the claim of the same name. */
export function principalTagMapping(tags: readonly string[]): Record<string, string> {
  return Object.fromEntries(tags.map((tag) => [tag, tag]));
}

export interface GitlabTrustInput {
  /** The identity pool's id (a reference to it: `<region>:<uuid>`). */
  readonly identityPoolId: string;
  /** GitLab's numeric project id (the `project_id` claim). */
  readonly projectId: string;
  /** The deploy branches (protected refs only); undefined: any branch of the project (plan). */
  readonly deployBranches?: readonly string[];
}

/**
 * Who may assume a delivery role: identities of this one identity pool (`aud`), authenticated, whose session tags
 * (the GitLab claims the pool maps) say: this project by id, a branch — and for deploy, a protected ref that is a
 * deploy branch. A fork's merge-request pipeline runs unprotected; a renamed project keeps its id, and a project
 * registered under the old path has another.
 */
export function gitlabTrustPolicy(input: GitlabTrustInput): PolicyDocument {
  const deploy = input.deployBranches !== undefined;
  const tags: Record<string, string | string[]> = {
    "aws:RequestTag/project_id": input.projectId,
    "aws:RequestTag/ref_type": "branch",
    ...(deploy ? { "aws:RequestTag/ref_protected": "true", "aws:RequestTag/ref": [...input.deployBranches!] } : {}),
  };
  return policyDocument({
    Sid: deploy ? "GitlabProtectedDeployBranches" : "GitlabProjectBranches",
    Effect: "Allow",
    Principal: { Federated: IDENTITY_POOL_SERVICE },
    Action: ["sts:AssumeRoleWithWebIdentity", "sts:TagSession"],
    Condition: {
      StringEquals: { [`${IDENTITY_POOL_SERVICE}:aud`]: input.identityPoolId, ...tags },
      "ForAnyValue:StringLike": { [`${IDENTITY_POOL_SERVICE}:amr`]: "authenticated" },
      "ForAllValues:StringEquals": { "aws:TagKeys": [...(deploy ? DEPLOY_SESSION_TAGS : PLAN_SESSION_TAGS)] },
    },
  });
}

// --- Action sets --------------------------------------------------------------------------------------------

/** What Terraform reads of an S3 bucket (aws_s3_bucket and its configuration resources; HeadBucket = ListBucket). */
export const BUCKET_READ_ACTIONS = [
  "s3:ListBucket",
  "s3:GetBucket*",
  "s3:GetAccelerateConfiguration",
  "s3:GetEncryptionConfiguration",
  "s3:GetLifecycleConfiguration",
  "s3:GetReplicationConfiguration",
];
/** What the stacks' bucket resources write: the bucket, its tags and its six configuration companions. Never an ACL. */
export const BUCKET_WRITE_ACTIONS = [
  "s3:CreateBucket",
  "s3:PutBucketTagging",
  "s3:PutBucketVersioning",
  "s3:PutEncryptionConfiguration",
  "s3:PutBucketPublicAccessBlock",
  "s3:PutBucketOwnershipControls",
  "s3:PutBucketPolicy",
  "s3:DeleteBucketPolicy",
  "s3:PutLifecycleConfiguration",
];

const ROLE_READ_ACTIONS = ["iam:GetRole", "iam:GetRolePolicy", "iam:ListRolePolicies", "iam:ListAttachedRolePolicies", "iam:ListRoleTags"];
const POLICY_READ_ACTIONS = ["iam:GetPolicy", "iam:GetPolicyVersion", "iam:ListPolicyVersions", "iam:ListPolicyTags"];
const PROVIDER_ACTIONS = [
  "iam:CreateOpenIDConnectProvider",
  "iam:GetOpenIDConnectProvider",
  "iam:DeleteOpenIDConnectProvider",
  "iam:UpdateOpenIDConnectProviderThumbprint",
  "iam:AddClientIDToOpenIDConnectProvider",
  "iam:RemoveClientIDFromOpenIDConnectProvider",
  "iam:TagOpenIDConnectProvider",
  "iam:UntagOpenIDConnectProvider",
];
const IDENTITY_POOL_READ_ACTIONS = [
  "cognito-identity:DescribeIdentityPool",
  "cognito-identity:GetIdentityPoolRoles",
  "cognito-identity:GetPrincipalTagAttributeMap",
  "cognito-identity:ListTagsForResource",
];

/** Role changes that can add permissions: allowed only with the boundary (`iam:PermissionsBoundary`). */
export const BOUNDED_ROLE_ACTIONS = ["iam:CreateRole", "iam:PutRolePermissionsBoundary", "iam:PutRolePolicy", "iam:DeleteRolePolicy"];
/** Managed-policy attachments: with the boundary, and only the policies the stacks attach (`iam:PolicyARN`). */
export const ATTACH_ROLE_ACTIONS = ["iam:AttachRolePolicy", "iam:DetachRolePolicy"];

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

/**
 * Everything the plan identity may do, as the patterns of its `NotAction` Deny: reads of the services the stacks
 * use. Whatever a bucket, key or role policy grants it, nothing else takes effect.
 */
export const PLAN_READ_ONLY_ACTIONS = [
  "s3:GetBucket*",
  "s3:GetAccelerateConfiguration",
  "s3:GetEncryptionConfiguration",
  "s3:GetLifecycleConfiguration",
  "s3:GetReplicationConfiguration",
  "s3:GetObject",
  "s3:GetObjectTagging",
  "s3:ListBucket",
  "iam:Get*",
  "iam:List*",
  "kms:DescribeKey",
  "kms:GetKeyPolicy",
  "kms:GetKeyRotationStatus",
  "kms:ListAliases",
  "kms:ListResourceTags",
  "eks:Describe*",
  "eks:List*",
  ...IDENTITY_POOL_READ_ACTIONS,
];

/** Object-level S3 actions: data. The delivery identities are denied them on everything but the state and issuer documents. */
export const DATA_OBJECT_ACTIONS = [
  "s3:GetObject*",
  "s3:PutObject*",
  "s3:DeleteObject*",
  "s3:RestoreObject",
  "s3:ReplicateObject",
  "s3:ReplicateDelete",
  "s3:ReplicateTags",
  "s3:BypassGovernanceRetention",
];

/** Key use and the key changes that lose data or let someone else use it: never the pipeline's. */
export const DENIED_KEY_ACTIONS = [
  "kms:Decrypt",
  "kms:Encrypt",
  "kms:ReEncrypt*",
  "kms:GenerateDataKey*",
  "kms:GenerateMac",
  "kms:Sign",
  "kms:Verify*",
  "kms:DeriveSharedSecret",
  "kms:CreateGrant",
  "kms:ScheduleKeyDeletion",
  "kms:DisableKey",
  "kms:DeleteImportedKeyMaterial",
  "kms:ImportKeyMaterial",
  "kms:ReplicateKey",
];

/** What a key's own policy grants the deploy role on a key it created (constructs/data-key.ts): administration, no use. */
export const KEY_ADMINISTRATION_BY_DEPLOY = [
  "kms:DescribeKey",
  "kms:GetKeyPolicy",
  "kms:GetKeyRotationStatus",
  "kms:ListResourceTags",
  "kms:PutKeyPolicy",
  "kms:EnableKeyRotation",
  "kms:UpdateKeyDescription",
  "kms:UntagResource",
  "kms:CreateAlias",
  "kms:DeleteAlias",
  "kms:UpdateAlias",
];
/** What a key's own policy grants the plan role: what Terraform reads of a key. */
export const KEY_READS_BY_PLAN = ["kms:DescribeKey", "kms:GetKeyPolicy", "kms:GetKeyRotationStatus", "kms:ListResourceTags"];

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

// --- Policies -----------------------------------------------------------------------------------------------

/** Values only known once delivery-<env> is applied (references in the stack). */
export interface DeliveryReferences {
  /** ARNs of the plan and deploy identity pools. */
  readonly identityPoolArns: readonly string[];
}

function unique(values: readonly string[]): string[] {
  return [...new Set(values)];
}

function stateStatements(scope: ManagedScope, write: boolean): PolicyStatement[] {
  const arns = scopeArns(scope);
  return [
    // S3 answers a missing object (a stack's first plan) with 404 only to a principal allowed s3:ListBucket on the
    // bucket, a check that carries no prefix: listing reveals key names, never a state.
    { Sid: "ListState", Effect: "Allow", Action: "s3:ListBucket", Resource: arns.stateBucket },
    // Every stack's state, by exact key (the remote state of every stack it reads, delivery-<env>'s included).
    { Sid: "ReadState", Effect: "Allow", Action: "s3:GetObject", Resource: arns.stateFiles },
    ...(write
      ? [
          { Sid: "WriteState", Effect: "Allow" as const, Action: "s3:PutObject", Resource: arns.deployedStateFiles },
          { Sid: "StateLocks", Effect: "Allow" as const, Action: ["s3:GetObject", "s3:PutObject", "s3:DeleteObject"], Resource: arns.deployedStateLocks },
        ]
      : []),
  ];
}

/** Object data is never the pipeline's: denied everywhere but the environment's state and the issuer documents. */
function denyDataObjects(scope: ManagedScope): PolicyStatement {
  const arns = scopeArns(scope);
  return {
    Sid: "DenyDataObjects",
    Effect: "Deny",
    Action: DATA_OBJECT_ACTIONS,
    NotResource: unique([...arns.stateFiles, ...arns.deployedStateLocks, ...arns.issuerObjects]),
  };
}

function readClusterStatements(scope: ManagedScope): PolicyStatement[] {
  const arns = scopeArns(scope);
  if (arns.eksClusters.length === 0) return [];
  return [
    {
      Sid: "ReadClusters",
      Effect: "Allow",
      Action: ["eks:DescribeCluster", "eks:DescribeAccessEntry", "eks:ListAssociatedAccessPolicies", "eks:DescribePodIdentityAssociation"],
      Resource: unique([
        ...arns.eksClusters,
        ...arns.deliveryAccessEntries,
        ...scope.accessEntries.flatMap((mapping) => arns.accessEntriesOf(mapping.arn)),
        ...arns.podIdentityAssociations,
      ]),
    },
  ];
}

/**
 * `gitlab.kmsKey: aws-managed`: gitlab-storage reads the account's aws/s3 key by alias (data.aws_kms_key), whose policy
 * is AWS's and delegates its description to IAM; the key's id is the account's own, named by no config.
 */
function describeAwsManagedKey(scope: ManagedScope): PolicyStatement[] {
  return scope.readsAwsManagedKey ? [{ Sid: "DescribeAwsManagedKey", Effect: "Allow", Action: "kms:DescribeKey", Resource: scopeArns(scope).keys }] : [];
}

/** Read-only: what `terraform plan` of every stack of the environment reads (delivery-<env> included), and nothing else. */
export function planRolePolicy(scope: ManagedScope, references: DeliveryReferences): PolicyDocument {
  const arns = scopeArns(scope);
  const statements: PolicyStatement[] = [
    ...stateStatements(scope, false),
    ...(arns.buckets.length > 0 ? [{ Sid: "ReadStackBuckets", Effect: "Allow" as const, Action: BUCKET_READ_ACTIONS, Resource: arns.buckets }] : []),
    ...(arns.issuerObjects.length > 0
      ? [{ Sid: "ReadIssuerDocuments", Effect: "Allow" as const, Action: ["s3:GetObject", "s3:GetObjectTagging"], Resource: arns.issuerObjects }]
      : []),
    {
      Sid: "ReadIdentities",
      Effect: "Allow",
      Action: [...ROLE_READ_ACTIONS, ...POLICY_READ_ACTIONS, "iam:GetOpenIDConnectProvider"],
      Resource: unique([...arns.workloadRoles, arns.planRole, arns.deployRole, ...arns.policies, arns.boundary, ...arns.deployPolicies, ...arns.managedProviders, arns.gitlabProvider]),
    },
    { Sid: "ReadIdentityPools", Effect: "Allow", Action: IDENTITY_POOL_READ_ACTIONS, Resource: [...references.identityPoolArns] },
    // Keys are read through their own policies (constructs/data-key.ts); aliases are listed account-wide.
    { Sid: "ListAliases", Effect: "Allow", Action: "kms:ListAliases", Resource: "*" },
    ...describeAwsManagedKey(scope),
    ...readClusterStatements(scope),
    { Sid: "DenyAllButReads", Effect: "Deny", NotAction: PLAN_READ_ONLY_ACTIONS, Resource: "*" },
    denyDataObjects(scope),
  ];
  return policyDocument(...statements);
}

/**
 * EKS access entries of the catalog's principals: each principal only with its own groups, policies and scopes.
 * No eks:UpdateAccessEntry: it carries no condition key, so allowing it would let the role give a principal any
 * group (system:masters among them); changing an entry's groups takes an administrator.
 */
function accessEntryStatements(scope: ManagedScope): PolicyStatement[] {
  const arns = scopeArns(scope);
  if (scope.accessEntries.length === 0 || arns.eksClusters.length === 0) return [];
  const byKey = <T>(entries: readonly [string, T][]) => {
    const groups = new Map<string, T[]>();
    for (const [key, value] of entries) groups.set(key, [...(groups.get(key) ?? []), value]);
    return [...groups];
  };
  const groupsCondition = (groups: readonly string[]) =>
    groups.length > 0 ? { "ForAllValues:StringEquals": { "eks:kubernetesGroups": [...groups].sort() } } : { Null: { "eks:kubernetesGroups": "true" } };
  const sidOf = (index: number, total: number) => (total > 1 ? `${index + 1}` : "");

  // Principals that get the same groups share one statement; likewise access policies with the same scope.
  const byGroups = byKey(scope.accessEntries.map((mapping): [string, AccessMapping] => [JSON.stringify([...mapping.groups].sort()), mapping]));
  const associations = byKey(
    scope.accessEntries.flatMap((mapping) =>
      mapping.accessPolicies.map((grant): [string, AccessMapping] => [JSON.stringify([grant.policy, grant.namespaces ? [...grant.namespaces].sort() : null]), mapping]),
    ),
  );
  return [
    ...byGroups.map(([, mappings], index): PolicyStatement => ({
      Sid: `CreateCatalogAccessEntries${sidOf(index, byGroups.length)}`,
      Effect: "Allow",
      Action: "eks:CreateAccessEntry",
      Resource: arns.eksClusters,
      Condition: { StringEquals: { "eks:principalArn": mappings.map((mapping) => mapping.arn) }, ...groupsCondition(mappings[0].groups) },
    })),
    {
      Sid: "ManageCatalogAccessEntries",
      Effect: "Allow",
      Action: ["eks:DescribeAccessEntry", "eks:DeleteAccessEntry", "eks:ListAssociatedAccessPolicies", "eks:DisassociateAccessPolicy", "eks:TagResource", "eks:UntagResource"],
      Resource: scope.accessEntries.flatMap((mapping) => arns.accessEntriesOf(mapping.arn)),
    },
    ...associations.map(([key, mappings], index): PolicyStatement => {
      const [policy, namespaces] = JSON.parse(key) as [string, string[] | null];
      return {
        Sid: `AssociateCatalogAccessPolicy${sidOf(index, associations.length)}`,
        Effect: "Allow",
        Action: "eks:AssociateAccessPolicy",
        Resource: unique(mappings.flatMap((mapping) => arns.accessEntriesOf(mapping.arn))),
        Condition: {
          StringEquals: { "eks:policyArn": arns.accessPolicy(policy), "eks:accessScope": namespaces ? "namespace" : "cluster" },
          ...(namespaces ? { "ForAllValues:StringEquals": { "eks:namespaces": namespaces } } : {}),
        },
      };
    }),
  ];
}

/**
 * The deploy role's policies, split by concern so each fits IAM's size limits (10,240 characters of inline policy
 * per role, 6,144 per managed policy): its permissions on what the environment's stacks declare (inline), its
 * cluster permissions (EKS environments), and the guardrails — every explicit Deny — in a managed policy of their
 * own, which the role itself may not change.
 */
export interface DeployRolePolicies {
  readonly permissions: PolicyDocument;
  /** Only with an EKS cluster. */
  readonly clusters?: PolicyDocument;
  readonly guardrails: PolicyDocument;
}

/** The deploy role's permissions: what the environment's stacks declare, by name; roles only with the boundary. */
export function deployRolePolicies(scope: ManagedScope, references: DeliveryReferences): DeployRolePolicies {
  const arns = scopeArns(scope);
  const boundary = { "iam:PermissionsBoundary": arns.boundary };
  const permissions: PolicyStatement[] = [
    ...stateStatements(scope, true),
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
          { Sid: "ChangeWorkloadRolesWithBoundary", Effect: "Allow" as const, Action: BOUNDED_ROLE_ACTIONS, Resource: arns.workloadRoles, Condition: { StringEquals: boundary } },
          ...(scope.attachablePolicyArns.length > 0
            ? [
                {
                  Sid: "AttachCatalogPolicies",
                  Effect: "Allow" as const,
                  Action: ATTACH_ROLE_ACTIONS,
                  Resource: arns.workloadRoles,
                  Condition: { StringEquals: boundary, ArnEquals: { "iam:PolicyARN": [...scope.attachablePolicyArns] } },
                },
              ]
            : []),
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
    ...(arns.podIdentityRoles.length > 0
      ? [
          {
            Sid: "PassPodIdentityRoles",
            Effect: "Allow" as const,
            Action: "iam:PassRole",
            Resource: arns.podIdentityRoles,
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
    // The providers the environment creates or imported; a provider it only uses stays whoever's it is.
    ...(arns.managedProviders.length > 0 ? [{ Sid: "ManageClusterProviders", Effect: "Allow" as const, Action: PROVIDER_ACTIONS, Resource: arns.managedProviders }] : []),
    // A key's id is only known once it exists, so the key's own policy grants its administration to this role
    // (constructs/data-key.ts). Creating one: no tags (tagging on creation needs kms:TagResource on every key of the
    // account, which would let the role tag — and claim — keys of others), and only the symmetric, single-region kind.
    ...(scope.createsKeys
      ? [
          {
            Sid: "CreateUntaggedKeys",
            Effect: "Allow" as const,
            Action: "kms:CreateKey",
            Resource: "*",
            Condition: {
              StringEquals: { "kms:KeySpec": "SYMMETRIC_DEFAULT", "kms:KeyUsage": "ENCRYPT_DECRYPT", "kms:KeyOrigin": "AWS_KMS" },
              Bool: { "kms:MultiRegion": "false" },
              Null: { "aws:TagKeys": "true" },
            },
          },
        ]
      : []),
    { Sid: "ListAliases", Effect: "Allow", Action: "kms:ListAliases", Resource: "*" },
    ...describeAwsManagedKey(scope),
    ...(arns.aliases.length > 0 ? [{ Sid: "ManageAliases", Effect: "Allow" as const, Action: ["kms:CreateAlias", "kms:DeleteAlias", "kms:UpdateAlias"], Resource: arns.aliases }] : []),
  ];
  const clusters: PolicyStatement[] = [
    ...(arns.eksClusters.length > 0 ? [{ Sid: "DescribeClusters", Effect: "Allow" as const, Action: "eks:DescribeCluster", Resource: arns.eksClusters }] : []),
    ...(arns.podIdentityClusters.length > 0
      ? [
          {
            Sid: "ManagePodIdentityAssociations",
            Effect: "Allow" as const,
            Action: [
              "eks:CreatePodIdentityAssociation",
              "eks:DescribePodIdentityAssociation",
              "eks:UpdatePodIdentityAssociation",
              "eks:DeletePodIdentityAssociation",
              "eks:TagResource",
              "eks:UntagResource",
            ],
            Resource: [...arns.podIdentityClusters, ...arns.podIdentityAssociations],
          },
        ]
      : []),
    ...accessEntryStatements(scope),
  ];

  const deliveryRoles = [arns.planRole, arns.deployRole];
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
    { Sid: "DenyRolesWithoutBoundary", Effect: "Deny", Action: ["iam:CreateRole", "iam:PutRolePermissionsBoundary"], Resource: "*", Condition: { StringNotEquals: boundary } },
    { Sid: "DenyBoundaryRemoval", Effect: "Deny", Action: "iam:DeleteRolePermissionsBoundary", Resource: "*" },
    // The boundary, the delivery roles, their policies and providers are an administrator's (delivery-<env>); a
    // provider the environment only uses is whoever made it.
    {
      Sid: "DenyDeliveryChanges",
      Effect: "Deny",
      Action: IAM_CHANGE_ACTIONS,
      Resource: unique([arns.boundary, ...deliveryRoles, ...arns.deployPolicies, arns.gitlabProvider, ...arns.usedProviders]),
    },
    { Sid: "DenyDeliveryIdentityPools", Effect: "Deny", Action: "cognito-identity:*", Resource: [...references.identityPoolArns] },
    { Sid: "DenyDeliveryState", Effect: "Deny", Action: ["s3:PutObject", "s3:DeleteObject"], Resource: arns.deliveryState },
    ...(arns.eksClusters.length > 0
      ? [
          {
            Sid: "DenyDeliveryClusterAccessChanges",
            Effect: "Deny" as const,
            Action: ["eks:CreateAccessEntry", "eks:UpdateAccessEntry", "eks:DeleteAccessEntry", "eks:AssociateAccessPolicy", "eks:DisassociateAccessPolicy"],
            Resource: arns.deliveryAccessEntries,
          },
          {
            Sid: "DenyDeliveryClusterAccessEntries",
            Effect: "Deny" as const,
            Action: "eks:CreateAccessEntry",
            Resource: "*",
            Condition: { StringEquals: { "eks:principalArn": deliveryRoles } },
          },
        ]
      : []),
    denyDataObjects(scope),
    { Sid: "DenyBucketDeletion", Effect: "Deny", Action: "s3:DeleteBucket", Resource: "*" },
    { Sid: "DenyKeyUseAndLoss", Effect: "Deny", Action: DENIED_KEY_ACTIONS, Resource: "*" },
    { Sid: "DenyRoleChaining", Effect: "Deny", Action: "sts:AssumeRole", Resource: "*" },
  ];
  return {
    permissions: policyDocument(...permissions),
    ...(clusters.length > 0 ? { clusters: policyDocument(...clusters) } : {}),
    guardrails: policyDocument(...deny),
  };
}

/** Every statement of the deploy role's policies, as one document (tests and reviews evaluate them together). */
export function deployRolePolicy(scope: ManagedScope, references: DeliveryReferences): PolicyDocument {
  const policies = deployRolePolicies(scope, references);
  return policyDocument(...[policies.permissions, policies.clusters, policies.guardrails].flatMap((document) => document?.Statement ?? []));
}

/**
 * The permissions boundary of every workload role: at most the S3 actions workloads are granted, on the catalog's
 * buckets (the environment's and the external ones its grants name), and their data keys through S3 for exactly
 * those buckets. Whatever a policy attached to a workload role grants beyond that — another bucket of the account,
 * IAM, role chaining, Organizations, account settings, any other service — has no effect, so a workload role the
 * deploy role (re)writes cannot reach beyond the environment's catalog. Adding a bucket changes it (delivery-<env>).
 */
export function permissionsBoundaryPolicy(scope: ManagedScope): PolicyDocument {
  const arns = scopeArns(scope);
  const buckets = arns.catalogBuckets;
  return policyDocument(
    ...(buckets.length > 0
      ? [
          { Sid: "CatalogObjectStorage", Effect: "Allow" as const, Action: BOUNDARY_S3_ACTIONS, Resource: buckets.flatMap((bucket) => [bucket, `${bucket}/*`]) },
          {
            Sid: "CatalogDataKeysViaS3",
            Effect: "Allow" as const,
            Action: BOUNDARY_KMS_ACTIONS,
            Resource: unique([arns.keys, ...scope.referencedKeyArns]),
            Condition: {
              StringEquals: { "kms:ViaService": `s3.${scope.region}.amazonaws.com` },
              StringLike: { "kms:EncryptionContext:aws:s3:arn": buckets.flatMap((bucket) => [bucket, `${bucket}/*`]) },
            },
          },
        ]
      : []),
    { Sid: "DenyPrivilegeEscalation", Effect: "Deny", Action: BOUNDARY_DENIED_ACTIONS, Resource: "*" },
  );
}
