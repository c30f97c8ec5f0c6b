/**
 * The Secrets the GitLab chart reads for object storage. No keys: `use_iam_profile` makes GitLab use the
 * role its ServiceAccount gets from IRSA or EKS Pod Identity.
 */
import { stringify } from "yaml";

/** `global.appConfig.object_store.connection` (Fog AWS provider settings). */
export function gitlabConnectionSecret(region: string): string {
  return stringify({ provider: "AWS", region, use_iam_profile: true });
}

/** `registry.storage` (the distribution S3 storage driver); credentials from the pod's role. */
export function gitlabRegistryStorageSecret(bucket: string, region: string): string {
  return stringify({ s3: { bucket, region, v4auth: true } });
}
