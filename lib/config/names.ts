/**
 * Default names derived from other names, shared by the resolvers that fill them in (./catalog: the pool and
 * provider ids) and those that check them (./clusters: every cluster's provider id).
 */

/** `<cluster name, lowercased, as a Google id>-<suffix>` within Google's 32 characters (`k8s-` for a `gcp-` prefix, which Google reserves). */
export function workloadIdentityDefault(clusterName: string, suffix: string): string {
  const base = clusterName.toLowerCase().replace(/[^a-z0-9-]/g, "-").replace(/^gcp-/, "k8s-");
  return `${base.slice(0, 32 - suffix.length - 1).replace(/-+$/, "")}-${suffix}`;
}
