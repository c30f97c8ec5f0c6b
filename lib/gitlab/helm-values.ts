/**
 * The GitLab Helm chart values that point it at this storage: buckets, the connection Secret (IAM role, no
 * keys) and the ServiceAccount that carries the identity. Pasted into the chart's values by a person.
 */
import { stringify } from "yaml";
import type { GitlabStorage } from "../config/catalog";

export function gitlabHelmValues(gitlab: GitlabStorage): string {
  const bucket = (purpose: string) => gitlab.buckets.find((b) => b.purpose === purpose)?.name;
  const appConfig: Record<string, unknown> = {
    object_store: {
      enabled: true,
      proxy_download: true,
      connection: { secret: gitlab.connectionSecretName, key: "connection" },
    },
  };
  for (const purpose of ["lfs", "artifacts", "uploads", "packages"]) {
    const name = bucket(purpose);
    if (name) appConfig[purpose] = { bucket: name };
  }
  const backups = bucket("backups");
  const tmp = bucket("tmp");
  if (backups || tmp) appConfig.backups = { ...(backups ? { bucket: backups } : {}), ...(tmp ? { tmpBucket: tmp } : {}) };

  const registry = bucket("registry");
  const values = {
    global: {
      serviceAccount: { enabled: true, create: false, name: gitlab.serviceAccount },
      appConfig,
      ...(registry ? { registry: { bucket: registry } } : {}),
    },
    ...(registry ? { registry: { storage: { secret: gitlab.registrySecretName, key: "config" } } } : {}),
  };
  return stringify(values, { lineWidth: 0 });
}
