/**
 * What the access model (lib/review/access-model.ts) reads from one small hand-made environment, entity by
 * entity and fact by fact: labels, summaries and workloads (what a reviewer sees when an identity comes or
 * goes), the items' keys, texts, operators, parts, flags and resources (what the diff compares). The
 * environment holds one of each shape: an IRSA role with inline, attached, managed and boundary policies, Pod
 * Identity roles with and without associations, Google accounts with project, impersonation, external and
 * anonymous members, a workload identity provider, ServiceAccounts on two clusters, EKS access entries, an
 * aws-auth map, an IAM OIDC provider, a public bucket, a bucket policy and a KMS key with a grant.
 */
import { AccessModel, accessModel, admittedByCondition } from "../lib/review/access-model";
import { diffAccess } from "../lib/review/changes";
import type { Item } from "../lib/review/items";
import type { StackJson } from "../lib/rules/types";

const ISSUER = "issuer.example.com/lab";
const policy = (...statements: object[]) => JSON.stringify({ Version: "2012-10-17", Statement: statements });

const OIDC: StackJson = {
  resource: {
    aws_iam_openid_connect_provider: { provider: { url: `https://${ISSUER}`, client_id_list: ["sts.amazonaws.com", "other"] } },
    // Named like the data key of aws-workloads-lab: the grants on that key are not this one's.
    aws_kms_key: { data: { description: "another key" } },
    aws_s3_bucket: { issuer: { bucket: "lab-issuer" } },
    aws_s3_bucket_public_access_block: {
      issuer: { bucket: "${aws_s3_bucket.issuer.id}", block_public_acls: true, block_public_policy: false, ignore_public_acls: true, restrict_public_buckets: false },
    },
    aws_s3_bucket_policy: {
      issuer: {
        bucket: "${aws_s3_bucket.issuer.id}",
        policy: policy(
          { Effect: "Allow", Principal: "*", Action: "s3:GetObject", Resource: ["arn:aws:s3:::lab-issuer/.well-known/openid-configuration", "arn:aws:s3:::lab-issuer/keys.json"] },
          // Whoever this Deny exempts may publish keys: an issuer document writer.
          {
            Effect: "Deny",
            Principal: "*",
            Action: ["s3:DeleteObject", "s3:PutObject"],
            Resource: ["arn:aws:s3:::lab-issuer/keys.json", "arn:aws:s3:::lab-issuer/.well-known/openid-configuration"],
            Condition: { ArnNotEquals: { "aws:PrincipalArn": "arn:aws:iam::123456789012:role/lab-deploy" } },
          },
          // Exempting from a Deny of reads is no writer.
          { Effect: "Deny", Principal: "*", Action: "s3:GetObject", Resource: "arn:aws:s3:::lab-issuer/private/*", Condition: { ArnNotEquals: { "aws:PrincipalArn": "arn:aws:iam::123456789012:role/lab-audit" } } },
        ),
      },
    },
  },
  output: { "cross-stack-output-provider-arn": { value: "${aws_iam_openid_connect_provider.provider.arn}" } },
} as never;

const PROVIDER_ARN = "${data.terraform_remote_state.cross-stack-reference-input-oidc-lab.outputs.cross-stack-output-provider-arn}";

const AWS: StackJson = {
  locals: { account: "123456789012", cluster: "lab-blue" },
  resource: {
    aws_iam_role: {
      app: {
        name: "lab-app",
        assume_role_policy: policy(
          {
            Effect: "Allow",
            Principal: { Federated: PROVIDER_ARN },
            Action: "sts:AssumeRoleWithWebIdentity",
            Condition: { StringEquals: { [`${ISSUER}:aud`]: "sts.amazonaws.com", [`${ISSUER}:sub`]: "system:serviceaccount:apps:app", [`${ISSUER}:x-claim`]: "y" } },
          },
          { Effect: "Deny", Principal: { AWS: "*" }, Action: "sts:AssumeRole" },
        ),
        inline_policy: [
          {
            name: "inline",
            policy: policy(
              {
                Effect: "Allow",
                Action: ["s3:GetObject", "s3:PutObject"],
                Resource: "arn:aws:s3:::lab-data/in/*",
                // One key under two operators: both hold, both are listed.
                Condition: { StringEquals: { "s3:x-amz-server-side-encryption": "aws:kms" }, StringLike: { "s3:x-amz-server-side-encryption": "aws:kms*" } },
              },
              // The same grant again without the condition: the condition no longer constrains it.
              { Effect: "Allow", Action: "s3:GetObject", Resource: "arn:aws:s3:::lab-data/in/*" },
              {
                Effect: "Deny",
                Action: ["s3:PutObject", "s3:DeleteObject"],
                Resource: ["arn:aws:s3:::lab-data/*", "arn:aws:s3:::lab-archive/*"],
                Condition: {
                  NumericLessThan: { "s3:max-keys": "10" },
                  ArnNotEquals: { "aws:PrincipalArn": "arn:aws:iam::123456789012:role/admin" },
                  StringNotEquals: { "aws:PrincipalAccount": "123456789012" },
                  Bool: { "aws:SecureTransport": "false" },
                  StringEquals: { "aws:RequestedRegion": ["eu-west-1", "eu-central-1"] },
                },
              },
            ),
          },
        ],
        managed_policy_arns: ["arn:aws:iam::aws:policy/ReadOnlyAccess"],
        permissions_boundary: "${aws_iam_policy.boundary.arn}",
      },
      // Trusts the provider without a condition: its issuer is read from the provider's url.
      open: { name: "lab-open", assume_role_policy: policy({ Effect: "Allow", Principal: { Federated: PROVIDER_ARN }, Action: "sts:AssumeRoleWithWebIdentity" }) },
      pods: {
        name: "lab-pods",
        assume_role_policy: policy({
          Effect: "Allow",
          Principal: { Service: "pods.eks.amazonaws.com" },
          Action: ["sts:AssumeRole", "sts:TagSession"],
          Condition: {
            StringEquals: { "aws:RequestTag/kubernetes-namespace": "jobs", "aws:RequestTag/kubernetes-service-account": ["worker", "cron"], "aws:SourceAccount": "${local.account}" },
            StringLike: { "aws:RequestTag/eks-cluster-name": "lab-*" },
          },
        }),
      },
      associated: {
        name: "lab-associated",
        assume_role_policy: policy({
          Effect: "Allow",
          Principal: { Service: "pods.eks.amazonaws.com" },
          Action: ["sts:AssumeRole", "sts:TagSession"],
          // Tags name two ServiceAccounts; the one association decides the workload.
          Condition: { StringEquals: { "aws:SourceAccount": "123456789012", "aws:RequestTag/kubernetes-namespace": "jobs", "aws:RequestTag/kubernetes-service-account": ["worker", "cron"] } },
        }),
      },
    },
    aws_iam_policy: {
      boundary: { name: "lab-boundary", policy: policy({ Effect: "Allow", Action: "s3:*", Resource: "*" }, { Effect: "Deny", Action: "iam:*", Resource: "*" }) },
      attached: { name: "lab-attached", policy: policy({ Effect: "Allow", NotAction: ["kms:*", "iam:*"], NotResource: ["arn:aws:s3:::lab-secret", "arn:aws:s3:::lab-keys"] }) },
    },
    aws_iam_role_policy_attachment: {
      attached: { role: "${aws_iam_role.app.name}", policy_arn: "${aws_iam_policy.attached.arn}" },
      aws: { role: "lab-pods", policy_arn: "arn:aws:iam::aws:policy/AmazonSQSFullAccess" },
    },
    aws_eks_pod_identity_association: {
      worker: { cluster_name: "${local.cluster}", namespace: "jobs", service_account: "worker", role_arn: "${aws_iam_role.associated.arn}" },
    },
    aws_eks_access_entry: {
      deploy: { cluster_name: "lab-blue", principal_arn: "arn:aws:iam::123456789012:role/deploy", kubernetes_groups: ["system:masters", "viewers"] },
    },
    aws_eks_access_policy_association: {
      deploy: {
        cluster_name: "lab-blue",
        principal_arn: "${aws_eks_access_entry.deploy.principal_arn}",
        policy_arn: "arn:aws:eks::aws:cluster-access-policy/AmazonEKSAdminPolicy",
        access_scope: [{ type: "namespace", namespaces: ["apps", "jobs"] }],
      },
      admin: { cluster_name: "lab-blue", principal_arn: "arn:aws:iam::123456789012:role/admin", policy_arn: "arn:aws:eks::aws:cluster-access-policy/AmazonEKSClusterAdminPolicy", access_scope: [{ type: "cluster" }] },
      "admin-view": {
        cluster_name: "lab-blue",
        principal_arn: "arn:aws:iam::123456789012:role/admin",
        policy_arn: "arn:aws:eks::aws:cluster-access-policy/AmazonEKSViewPolicy",
        access_scope: [{ type: "namespace", namespaces: ["ops"] }],
      },
    },
    aws_s3_bucket: { data: { bucket: "lab-data" }, site: { bucket: "lab-site", acl: "public-read" } },
    aws_s3_bucket_public_access_block: {
      data: { bucket: "${aws_s3_bucket.data.id}", block_public_acls: true, block_public_policy: true, ignore_public_acls: true, restrict_public_buckets: true },
      site: { bucket: "${aws_s3_bucket.site.bucket}", block_public_acls: true, block_public_policy: false, ignore_public_acls: true, restrict_public_buckets: true },
    },
    aws_s3_bucket_policy: {
      data: {
        bucket: "${aws_s3_bucket.data.id}",
        policy: policy(
          { Effect: "Allow", Principal: { AWS: "arn:aws:iam::123456789012:role/reader" }, Action: "s3:GetObject", Resource: "arn:aws:s3:::lab-data/*" },
          { Effect: "Deny", Principal: "*", Action: "s3:*", Resource: "arn:aws:s3:::lab-data/*", Condition: { Bool: { "aws:SecureTransport": "false" } } },
        ),
      },
      site: {
        bucket: "lab-site",
        policy: policy({ Effect: "Allow", Principal: "*", Action: "s3:GetObject", Resource: "arn:aws:s3:::lab-site/*", Condition: { IpAddress: { "aws:SourceIp": ["10.0.0.0/8", "192.168.0.0/16"] }, Bool: { "aws:SecureTransport": "true" } } }),
      },
    },
    aws_kms_key: { data: { policy: policy({ Effect: "Allow", Principal: { AWS: "arn:aws:iam::123456789012:root" }, Action: "kms:*", Resource: "*" }) } },
    aws_kms_alias: { data: { name: "alias/lab-data", target_key_id: "${aws_kms_key.data.key_id}" } },
    aws_kms_grant: {
      app: {
        key_id: "${aws_kms_key.data.key_id}",
        grantee_principal: "${aws_iam_role.app.arn}",
        operations: ["Decrypt", "Encrypt"],
        constraints: [{ encryption_context_subset: { team: "apps" } }, { encryption_context_equals: { bucket: "lab-data" } }],
      },
    },
  },
} as never;

const GCP: StackJson = {
  output: { "cross-stack-output-app-email": { value: "${google_service_account.app.email}" } },
  resource: {
    google_service_account: { app: { account_id: "lab-app", project: "acme" } },
    google_project_iam_member: {
      app: { project: "acme", role: "roles/storage.objectViewer", member: "serviceAccount:${google_service_account.app.email}" },
      user: { project: "acme", role: "roles/viewer", member: "user:someone@example.com", condition: [{ title: "t", expression: "request.time < timestamp('2027-01-01T00:00:00Z')" }] },
    },
    google_storage_bucket_iam_member: { public: { bucket: "lab-assets", role: "roles/storage.objectViewer", member: "allUsers" } },
    google_service_account_iam_member: {
      workload: {
        service_account_id: "${google_service_account.app.name}",
        role: "roles/iam.workloadIdentityUser",
        member: "principalSet://iam.googleapis.com/projects/1/locations/global/workloadIdentityPools/lab/attribute.ksa_name/apps:app",
      },
    },
    google_iam_workload_identity_pool: { pool: { workload_identity_pool_id: "lab" } },
    google_iam_workload_identity_pool_provider: {
      blue: {
        workload_identity_pool_id: "${google_iam_workload_identity_pool.pool.workload_identity_pool_id}",
        workload_identity_pool_provider_id: "lab-blue",
        attribute_mapping: { "google.subject": "assertion.sub", "attribute.ksa_name": "assertion['kubernetes.io']['namespace'] + ':' + assertion['kubernetes.io']['serviceaccount']['name']" },
        attribute_condition: "assertion.sub in ['system:serviceaccount:apps:app']",
        oidc: [{ issuer_uri: `https://${ISSUER}`, allowed_audiences: ["lab", "lab-2"] }],
      },
    },
  },
} as never;

const K8S: StackJson = {
  provider: {
    kubernetes: [
      { alias: "blue", exec: [{ api_version: "client.authentication.k8s.io/v1beta1", command: "aws", args: ["eks", "get-token", "--cluster-name", "lab-blue"] }] },
      { alias: "green", config_context: "lab-green" },
    ],
  },
  resource: {
    kubernetes_namespace_v1: { apps: { provider: "kubernetes.blue", metadata: [{ name: "apps" }] } },
    kubernetes_service_account_v1: {
      app: {
        provider: "kubernetes.blue",
        metadata: [
          {
            name: "app",
            namespace: "${kubernetes_namespace_v1.apps.metadata[0].name}",
            annotations: {
              "eks.amazonaws.com/role-arn": "arn:aws:iam::123456789012:role/lab-app",
              "iam.gke.io/gcp-service-account": "${data.terraform_remote_state.cross-stack-reference-input-gcp-wif-lab.outputs.cross-stack-output-app-email}",
            },
          },
        ],
        automount_service_account_token: false,
      },
      green: { provider: "kubernetes.green", metadata: [{ name: "app", namespace: "apps" }] },
    },
    kubernetes_config_map_v1_data: {
      auth: {
        provider: "kubernetes.blue",
        metadata: [{ name: "aws-auth", namespace: "kube-system" }],
        data: {
          mapRoles: "- rolearn: arn:aws:iam::123456789012:role/nodes\n  groups: [system:bootstrappers, system:nodes]\n",
          mapUsers: "- userarn: arn:aws:iam::123456789012:user/ops\n  groups: [system:masters]\n",
        },
      },
    },
  },
} as never;

const LAB = new Map<string, StackJson>([
  // A stack with outputs only: nothing to read in it.
  ["notes-lab", { output: { note: { value: "no resources" } } } as never],
  ["oidc-lab", OIDC],
  ["aws-workloads-lab", AWS],
  ["gcp-wif-lab", GCP],
  ["k8s-identities-lab", K8S],
]);

/** Shapes LAB does not have: issuers named only by ARN or condition keys, roles without names, literal boundaries, separate role policies, legacy Kubernetes types, bindings, literal accounts, object ACLs, keys without aliases. */
const EDGE_AWS: StackJson = {
  resource: {
    aws_iam_role: {
      "by-arn": {
        assume_role_policy: policy(
          {
            Effect: "Allow",
            Principal: { Federated: ["arn:aws:iam::123456789012:oidc-provider/oidc.example.org/x", "${data.terraform_remote_state.cross-stack-reference-input-gone.outputs.provider}"] },
            Action: "sts:AssumeRoleWithWebIdentity",
            Condition: { StringEquals: { "oidc.example.org/x:sub": "system:serviceaccount:a:b", "other.example.net/y:amr": "x" }, IpAddress: { "aws:SourceIp": "10.0.0.0/8" } },
          },
          {
            Effect: "Allow",
            Principal: { AWS: ["*", "arn:aws:iam::123456789012:root"] },
            Action: "sts:AssumeRole",
            // A key shaped like an issuer's under a principal that is not Federated keeps its whole name.
            Condition: { StringEquals: { "sts:ExternalId": [], "accounts.google.com:sub": "123" } },
          },
        ),
        permissions_boundary: "arn:aws:iam::123456789012:policy/elsewhere",
      },
      keyed: {
        name: "edge-keyed",
        permissions_boundary: "${aws_iam_policy.nameless.arn}",
        assume_role_policy: policy({
          Effect: "Allow",
          Principal: { Federated: "${data.terraform_remote_state.cross-stack-reference-input-gone.outputs.other}" },
          Action: "sts:AssumeRoleWithWebIdentity",
          Condition: { StringLike: { "keyed.example.com:sub": "system:serviceaccount:ns:*" } },
        }),
      },
      "arn-only": {
        name: "edge-arn-only",
        assume_role_policy: policy({ Effect: "Allow", Principal: { Federated: "arn:aws:iam::123456789012:oidc-provider/oidc.example.org/y" }, Action: "sts:AssumeRoleWithWebIdentity" }),
      },
      // The same subject and audience in two statements: the looser operator is kept; of two as loose, the later in code-point order.
      twice: {
        name: "edge-twice",
        assume_role_policy: policy(
          {
            Effect: "Allow",
            Principal: { Federated: "arn:aws:iam::123456789012:oidc-provider/oidc.example.org/x" },
            Action: "sts:AssumeRoleWithWebIdentity",
            Condition: { StringLike: { "oidc.example.org/x:sub": "system:serviceaccount:t:a", "oidc.example.org/x:aud": "x" } },
          },
          {
            Effect: "Allow",
            Principal: { Federated: "arn:aws:iam::123456789012:oidc-provider/oidc.example.org/x" },
            Action: "sts:AssumeRoleWithWebIdentity",
            Condition: { StringEquals: { "oidc.example.org/x:sub": "system:serviceaccount:t:a" }, ArnLike: { "oidc.example.org/x:aud": "x" } },
          },
        ),
      },
      // Two namespaces: a ServiceAccount tag alone names no workload; every namespace/ServiceAccount pair does.
      spread: {
        name: "edge-spread",
        assume_role_policy: policy({
          Effect: "Allow",
          Principal: { Service: "pods.eks.amazonaws.com" },
          Action: ["sts:AssumeRole", "sts:TagSession"],
          Condition: { StringEquals: { "aws:RequestTag/kubernetes-namespace": ["a", "b"], "aws:RequestTag/kubernetes-service-account": "x" } },
        }),
      },
      "by-account": { name: "edge-by-account", assume_role_policy: policy({ Effect: "Allow", Principal: { AWS: "arn:aws:iam::123456789012:root" }, Action: "sts:AssumeRole" }) },
      // Namespace and ServiceAccount tags in different statements, one statement without StringEquals at all.
      "pods-mixed": {
        name: "edge-pods-mixed",
        assume_role_policy: policy(
          { Effect: "Allow", Principal: { Service: "pods.eks.amazonaws.com" }, Action: ["sts:AssumeRole", "sts:TagSession"], Condition: { StringEquals: { "aws:RequestTag/kubernetes-namespace": "n1" } } },
          { Effect: "Allow", Principal: { Service: "pods.eks.amazonaws.com" }, Action: ["sts:AssumeRole", "sts:TagSession"], Condition: { StringEquals: { "aws:RequestTag/kubernetes-service-account": "s1" } } },
          { Effect: "Allow", Principal: { Service: "pods.eks.amazonaws.com" }, Action: ["sts:AssumeRole", "sts:TagSession"], Condition: { StringLike: { "aws:RequestTag/kubernetes-namespace": "team-*" } } },
        ),
      },
      unnamed: { assume_role_policy: policy({ Effect: "Allow", Principal: { Federated: "${data.terraform_remote_state.cross-stack-reference-input-gone.outputs.bare}" }, Action: "sts:AssumeRoleWithWebIdentity" }) },
    },
    aws_iam_policy: { nameless: { policy: policy({ Effect: "Allow", Action: "sqs:*", Resource: "*" }) } },
    aws_iam_role_policy_attachment: {
      // A role named by an ARN with a path; a role that is not a string names no role.
      "by-path": { role: "arn:aws:iam::123456789012:role/team/edge-arn-only", policy_arn: "arn:aws:iam::aws:policy/AWSDenyAll" },
      odd: { role: 5, policy_arn: "arn:aws:iam::aws:policy/AdministratorAccess" },
    },
    aws_iam_role_policy: {
      extra: { role: "${aws_iam_role.keyed.id}", policy: policy({ Effect: "Allow", Action: "sqs:SendMessage", Resource: ["arn:aws:sqs:eu-west-1:123456789012:q"], Condition: { StringEquals: { "aws:SourceVpc": [] } } }) },
      stray: { role: "not-here", policy: policy({ Effect: "Allow", Action: "*", Resource: "*" }) },
    },
    aws_eks_pod_identity_association: {
      stray: { cluster_name: "c", namespace: "n", service_account: "s", role_arn: "arn:aws:iam::123456789012:role/not-here" },
      literal: { cluster_name: "c", namespace: 7, service_account: "s", role_arn: "arn:aws:iam::123456789012:role/edge-keyed" },
    },
    aws_eks_access_entry: { empty: { cluster_name: "c", principal_arn: "arn:aws:iam::123456789012:role/empty", kubernetes_groups: [] } },
    aws_eks_access_policy_association: {
      // Cluster-wide but no admin policy: no cluster-admin flag.
      viewer: { cluster_name: "c", principal_arn: "arn:aws:iam::123456789012:role/viewer", policy_arn: "arn:aws:eks::aws:cluster-access-policy/AmazonEKSViewPolicy", access_scope: [{ type: "cluster" }] },
      scoped: {
        cluster_name: "c",
        principal_arn: "arn:aws:iam::123456789012:role/ops",
        policy_arn: "arn:aws:eks::aws:cluster-access-policy/AmazonEKSClusterAdminPolicy",
        access_scope: [{ type: "namespace", namespaces: ["ops"] }],
      },
    },
    aws_s3_bucket: { logs: { bucket: "edge-logs" }, unnamed: { acl: "public-read" } },
    aws_s3_bucket_acl: { logs: { bucket: "${aws_s3_bucket.logs.id}", acl: "authenticated-read" }, private: { bucket: "${aws_s3_bucket.logs.id}", acl: "private" } },
    aws_s3_object: {
      index: { bucket: "edge-logs", key: "index.html", acl: "public-read" },
      // Public objects in a bucket of no stack here: the first of them (by name) stands for the bucket.
      "z-page": { bucket: "edge-foreign", key: "z.html", acl: "public-read" },
      "a-page": { bucket: "edge-foreign", key: "a.html", acl: "public-read-write" },
    },
    aws_s3_bucket_policy: {
      shared: {
        bucket: "edge-shared",
        policy: policy(
          { Effect: "Allow", NotPrincipal: { AWS: "arn:aws:iam::123456789012:root" }, Action: "s3:ListBucket", Resource: "arn:aws:s3:::edge-shared" },
          { Effect: "Allow", Principal: { Service: "logging.s3.amazonaws.com" }, Action: "s3:PutObject", Resource: "arn:aws:s3:::edge-shared/logs/*" },
          { Effect: "Allow", Action: "s3:GetObject", Resource: "arn:aws:s3:::edge-shared/*" },
          { Effect: "Allow", Principal: "*", Action: "s3:GetObject", Resource: "arn:aws:s3:::edge-shared/pub/*" },
        ),
      },
      // A second policy on the same bucket: read with the first (either may be the one in force).
      "shared-again": {
        bucket: "edge-shared",
        policy: policy(
          { Effect: "Allow", Principal: { AWS: "arn:aws:iam::123456789012:role/writer" }, Action: "s3:PutObject", Resource: "arn:aws:s3:::edge-shared/*" },
          { Effect: "Allow", Principal: { AWS: "*" }, Action: "s3:GetObject", Resource: "arn:aws:s3:::edge-shared/open/*" },
        ),
      },
    },
    aws_kms_key: { bare: {}, second: {} },
    // Kubernetes resources in a stack without a kubernetes provider: no cluster to name.
    kubernetes_service_account_v1: { bare: { metadata: [{ name: "bare", namespace: "ops" }] } },
    kubernetes_config_map_v1_data: {
      auth: { metadata: [{ name: "aws-auth", namespace: "kube-system" }], data: { mapRoles: "- rolearn: arn:aws:iam::123456789012:role/nodes\n  groups: [system:nodes]\n" } },
    },
    aws_kms_key_policy: {
      bare: {
        key_id: "${aws_kms_key.bare.id}",
        policy: policy(
          { Effect: "Deny", Principal: { AWS: "*" }, Action: "kms:ScheduleKeyDeletion", Resource: "*", Condition: { "ForAnyValue:StringNotLike": { "aws:PrincipalTag/team": ["ops", "sec"] } } },
          // Anyone, narrowed by a condition to callers of one account: still an anonymous grant to read.
          { Effect: "Allow", Principal: "*", Action: "kms:Decrypt", Resource: "*", Condition: { StringEquals: { "kms:CallerAccount": "123456789012" } } },
        ),
      },
      other: { key_id: "${aws_kms_key.gone.id}", policy: policy({ Effect: "Allow", Principal: "*", Action: "kms:*", Resource: "*" }) },
    },
    aws_kms_grant: {
      plain: { key_id: "${aws_kms_key.bare.arn}", grantee_principal: "arn:aws:iam::123456789012:role/edge-keyed", operations: ["GenerateDataKey"] },
      "plain-again": { key_id: "${aws_kms_key.bare.arn}", grantee_principal: "arn:aws:iam::123456789012:role/edge-keyed", operations: ["GenerateDataKey"] },
      odd: { key_id: "${aws_kms_key.bare.key_id}", grantee_principal: 42, operations: ["Decrypt"] },
      elsewhere: { key_id: "arn:aws:kms:eu-west-1:123456789012:key/x", grantee_principal: "x", operations: ["Decrypt"] },
    },
  },
} as never;

const EDGE_GCP: StackJson = {
  resource: {
    google_service_account: { ci: { account_id: "edge-ci", project: "acme" }, idle: { account_id: "edge-idle", project: "acme" } },
    google_project_iam_binding: {
      viewers: { project: "acme", role: "roles/viewer", members: ["serviceAccount:edge-ci@acme.iam.gserviceaccount.com", "group:devs@example.com", "allAuthenticatedUsers"] },
    },
    google_bigquery_dataset_iam_member: { reports: { dataset_id: "reports", role: "roles/bigquery.dataViewer", member: "serviceAccount:other@elsewhere.iam.gserviceaccount.com" } },
    google_pubsub_topic_iam_member: { events: { topic: "events", role: "roles/pubsub.publisher", member: "serviceAccount:${google_service_account.ci.email}" } },
    google_folder_iam_member: { folder: { folder: "folders/1", role: "roles/viewer", member: "domain:example.com" } },
    google_bigquery_table_iam_member: { table: { dataset_id: "reports", table_id: "daily", role: "roles/bigquery.dataViewer", member: "domain:example.com" } },
    google_secret_manager_secret_iam_member: { secret: { secret_id: "db", role: "roles/secretmanager.secretAccessor", member: "domain:example.com" } },
    google_pubsub_subscription_iam_member: { sub: { subscription: "events-sub", role: "roles/pubsub.subscriber", member: "domain:example.com" } },
    google_cloud_run_service_iam_member: { run: { name: "api", role: "roles/run.invoker", member: "domain:example.com" } },
    google_storage_bucket_iam_member: {
      direct: {
        bucket: "edge-logs",
        role: "roles/storage.objectViewer",
        member: "principal://iam.googleapis.com/projects/1/locations/global/workloadIdentityPools/edge/subject/system:serviceaccount:ci:runner",
      },
      logs: { bucket: "edge-logs", role: "roles/storage.objectViewer", member: "domain:example.com" },
    },
    google_organization_iam_member: { org: { org_id: 99, role: "roles/viewer", member: "domain:example.com" }, named: { org_id: "42", role: "roles/browser", member: "domain:example.com" } },
    google_service_account_iam_binding: {
      ci: {
        service_account_id: "projects/acme/serviceAccounts/edge-ci@acme.iam.gserviceaccount.com",
        role: "roles/iam.serviceAccountTokenCreator",
        members: ["principal://iam.googleapis.com/projects/1/locations/global/workloadIdentityPools/edge/subject/system:serviceaccount:ci:runner", "principalSet://iam.googleapis.com/projects/1/locations/global/workloadIdentityPools/edge/*"],
        condition: [{ title: "t", expression: "request.time < timestamp('2027-01-01T00:00:00Z')" }],
      },
      // The app's account by its email alone (no prefix).
      email: { service_account_id: "edge-ci@acme.iam.gserviceaccount.com", role: "roles/iam.serviceAccountUser", members: ["group:devs@example.com"] },
      foreign: { service_account_id: "${data.terraform_remote_state.cross-stack-reference-input-gone.outputs.account}", role: "roles/iam.workloadIdentityUser", members: ["user:a@example.com"] },
      odd: { service_account_id: 5, role: "roles/iam.workloadIdentityUser", members: ["user:a@example.com"] },
    },
    google_iam_workload_identity_pool_provider: {
      aws: { workload_identity_pool_id: "edge", workload_identity_pool_provider_id: "aws", aws: [{ account_id: "123456789012" }], attribute_condition: "  " },
      other: {
        workload_identity_pool_id: "edge",
        workload_identity_pool_provider_id: "other",
        attribute_condition:
          "assertion[ 'sub' ] == 'system:serviceaccount:ci:runner' && assertion.aud == 'edge' && (assertion.sub.startsWith(\"system:serviceaccount:ci:\") || assertion.sub.startsWith('system:serviceaccount:ops:run')) && assertion.aud != 'x'",
      },
      either: { workload_identity_pool_id: "edge", workload_identity_pool_provider_id: "either", attribute_condition: "assertion.sub in [] || assertion.sub in ['a\\'b', \"c\"]", oidc: [{ issuer_uri: "https://e.example.com" }] },
      listed: { workload_identity_pool_id: "edge", workload_identity_pool_provider_id: "listed", attribute_condition: "assertion.sub in ['a', request.b]" },
      none: { workload_identity_pool_id: "edge", workload_identity_pool_provider_id: "none", attribute_condition: "assertion.sub in [] && assertion.aud == 'x'", oidc: [{}] },
    },
  },
} as never;

const EDGE_K8S: StackJson = {
  // The default provider listed after aliased ones; an exec without --cluster-name names the cluster by its context.
  provider: {
    kubernetes: [
      { alias: "lost" },
      { alias: "ctx", exec: [{ api_version: "client.authentication.k8s.io/v1beta1", command: "kubelogin", args: ["get-token"] }], config_context: "edge-ctx" },
      { config_path: "~/.kube/config" },
    ],
  },
  resource: {
    kubernetes_namespace: { ops: { metadata: [{}] } },
    kubernetes_service_account: {
      plain: { metadata: [{ name: "plain", annotations: { "iam.gke.io/gcp-service-account": "${data.terraform_remote_state.cross-stack-reference-input-gone.outputs.email}", note: 3 } }], automount_service_account_token: true },
      lost: { provider: "kubernetes.lost", metadata: [{ name: "lost", namespace: "${kubernetes_namespace.ops.metadata[0].name}", annotations: { "eks.amazonaws.com/role-arn": "arn:aws:iam::123456789012:role/path/edge-keyed" } }] },
      away: { provider: "kubernetes.away", metadata: [{ name: "away", namespace: "ops" }] },
      ctx: { provider: "kubernetes.ctx", metadata: [{ name: "ctx", namespace: "ops" }] },
    },
    kubernetes_config_map: {
      auth: {
        metadata: [{ name: "aws-auth", namespace: "kube-system" }],
        data: { mapRoles: "- rolearn: [unclosed\n", mapUsers: "- userarn: arn:aws:iam::123456789012:user/edge\n  groups: [viewers]\n- stray\n", mapAccounts: "- 123456789012\n" },
      },
      elsewhere: { metadata: [{ name: "aws-auth", namespace: "default" }], data: { mapRoles: "- rolearn: arn:aws:iam::1:role/x\n  groups: [system:masters]\n" } },
    },
    kubernetes_config_map_v1: {
      nodata: { metadata: [{ name: "aws-auth", namespace: "kube-system" }] },
      auth: { provider: "kubernetes.lost", metadata: [{ name: "aws-auth", namespace: "kube-system" }], data: { mapRoles: "- rolearn: arn:aws:iam::123456789012:role/edge-v1\n  groups: [edge]\n", mapUsers: "just text" } },
    },
  },
} as never;

const EDGE = new Map<string, StackJson>([
  ["aws-workloads-edge", EDGE_AWS],
  ["gcp-wif-edge", EDGE_GCP],
  ["k8s-identities-edge", EDGE_K8S],
]);

/** An item as one line: `key => text` (key left out when it is the text), then its operator, parts and marks. */
function line(entry: Item): string {
  const parts = entry.parts.map((part) => (part.glob ? `~${part.text}` : part.text)).join(" | ");
  const marks = [
    entry.op && `op ${entry.op}`,
    entry.rank !== undefined && `rank ${entry.rank}`,
    entry.any && "any",
    entry.none && "none",
    entry.workload && `workload ${entry.workload}`,
    entry.cloud && `cloud ${entry.cloud}`,
    entry.flags && `flags ${entry.flags.join(",")}`,
    entry.group !== undefined && `group ${entry.group}`,
    entry.head && `head ${entry.head}`,
    entry.resource && `at ${entry.resource}`,
  ].filter(Boolean);
  return `${entry.key === entry.text ? entry.text : `${entry.key} => ${entry.text}`} [${parts}]${marks.length > 0 ? ` (${marks.join("; ")})` : ""}`;
}

/**
 * The model as plain data, in its own order (entities, sets and items in key order, whatever order the stacks
 * list them in): per entity its header, per set its spec (without key and items) and its items as lines.
 */
function read(model: AccessModel) {
  // An entity or set is filed under its own key (a mismatch shows as `<filed under> ≠ <own key>`).
  const filed = (under: string, own: string) => (under === own ? under : `${under} ≠ ${own}`);
  return [...model].map(([key, entity]) => ({
    key: filed(key, entity.key),
    header: [entity.cloud, entity.label, entity.resource, entity.summary, entity.announce ? "announced" : "silent", ...entity.workloads],
    sets: [...entity.sets].map(([setKey, { key: own, items, ...spec }]) => ({ set: filed(setKey, own), spec: JSON.stringify(spec), items: items.map(line) })),
  }));
}

describe("the access model of a hand-made environment, fact by fact", () => {
  it("reads every entity", () => {
    expect(read(accessModel(LAB))).toMatchSnapshot();
  });

  it("reads the shapes of a second environment LAB does not have", () => {
    expect(read(accessModel(EDGE))).toMatchSnapshot();
  });
});

describe("conditions and accounts written in other valid forms", () => {
  it("GIVEN a CEL subject in double quotes THEN it is read like one in single quotes; a list with a non-literal stays opaque", () => {
    expect(admittedByCondition(`assertion.sub == "system:serviceaccount:a:b"`)).toEqual(admittedByCondition("assertion.sub == 'system:serviceaccount:a:b'"));
    expect(admittedByCondition(`assertion.sub.startsWith("system:serviceaccount:a:")`)).toEqual(admittedByCondition("assertion.sub.startsWith('system:serviceaccount:a:')"));
    expect(admittedByCondition(`assertion.sub in ["x", 'y']`).map((entry) => entry.text)).toEqual(["sub = x", "sub = y"]);
    expect(admittedByCondition("assertion.sub in [request.x]").map((entry) => entry.text)).toEqual(["condition assertion.sub in [request.x]"]);
  });

  it("GIVEN a second subject added in double quotes THEN the provider's condition is widened, to review", () => {
    const provider = (condition: string) =>
      new Map<string, StackJson>([
        ["gcp-wif-lab", { resource: { google_iam_workload_identity_pool_provider: { blue: { ...(GCP.resource!.google_iam_workload_identity_pool_provider as never as Record<string, object>).blue, attribute_condition: condition } } } } as never],
      ]);
    const changes = diffAccess(
      accessModel(provider("assertion.sub in ['system:serviceaccount:apps:app']")),
      accessModel(provider(`assertion.sub in ['system:serviceaccount:apps:app', "system:serviceaccount:apps:other"]`)),
    );
    expect(changes.map((change) => [change.kind, change.what, change.after, change.review])).toEqual([
      ["added", "subjects the attribute condition admits", "sub = system:serviceaccount:apps:other", true],
    ]);
  });

  it("GIVEN the app's account named as projects/<p>/serviceAccounts/<email> or by its email alone THEN a binding on it is who may act as that account", () => {
    const model = accessModel(EDGE);
    expect(model.get("gcp-sa:edge-ci@acme.iam.gserviceaccount.com")!.sets.get("impersonation")!.items.map((entry) => entry.workload ?? entry.parts[1].text)).toEqual([
      "ci/runner",
      "principalSet://iam.googleapis.com/projects/1/locations/global/workloadIdentityPools/edge/*",
      "group:devs@example.com",
    ]);
    const outsideRoles = [...model.values()].filter((entity) => entity.key.startsWith("gcp-member:")).flatMap((entity) => entity.sets.get("roles")!.items.map((entry) => entry.text));
    expect(outsideRoles.filter((text) => text.includes("edge-ci@acme"))).toEqual([]);
  });
});

/** Every policy document in a resource's configuration with its statements in reverse order. */
function reverseStatements(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(reverseStatements);
  if (typeof value === "object" && value !== null) return Object.fromEntries(Object.entries(value).map(([field, inner]) => [field, reverseStatements(inner)]));
  if (typeof value !== "string" || !value.includes('"Statement"')) return value;
  const document = JSON.parse(value) as { Statement: unknown[] };
  return JSON.stringify({ ...document, Statement: [...document.Statement].reverse() });
}

/** The same environment with its stacks, their resource types, their resources and every policy's statements listed in reverse. */
function reversed(stacks: ReadonlyMap<string, StackJson>): Map<string, StackJson> {
  const reverse = <T>(record: Record<string, T>, map: (value: T) => T) => Object.fromEntries(Object.entries(record).reverse().map(([key, value]) => [key, map(value)]));
  return new Map(
    [...stacks].reverse().map(([id, stack]) => [id, { ...stack, resource: reverse(stack.resource ?? {}, (byName) => reverse(byName, (config) => reverseStatements(config) as typeof config)) }]),
  );
}

describe("the order the stacks list things in", () => {
  it("GIVEN stacks, resource types, resources and statements in reverse order THEN the model is the same (the first resource of an entity included)", () => {
    expect(read(accessModel(reversed(LAB)))).toEqual(read(accessModel(LAB)));
    expect(read(accessModel(reversed(EDGE)))).toEqual(read(accessModel(EDGE)));
  });
});

describe("what an environment without a kind of grant has none of", () => {
  it("GIVEN no anonymous Google grant THEN no entity for them", () => {
    expect([...accessModel(new Map([["oidc-lab", OIDC]])).keys()]).toEqual([
      "aws-bucket:lab-issuer",
      "aws-kms:oidc-lab:aws_kms_key.data",
      "aws-oidc:issuer.example.com/lab",
      "public:s3:lab-issuer",
    ]);
  });
});
