/**
 * The pod spec fragment a workload needs to use its Google credentials: the credential Secret mounted and
 * GOOGLE_APPLICATION_CREDENTIALS pointing at it, and for `projected-token` workloads the token projected
 * with the provider's audience at the configured path. Emitted as an output for people to paste.
 */
import * as path from "node:path";
import { stringify } from "yaml";
import { CREDENTIALS_KEY, CREDENTIALS_MOUNT_PATH } from "./credential-config";

export interface PodSpecInput {
  readonly serviceAccount: string;
  readonly credentialsSecretName: string;
  readonly token: "irsa-token" | "projected-token";
  readonly tokenPath: string;
  /** Audience of the projected token: the workload identity provider's full name. */
  readonly tokenAudience: string;
  /** @default 3600 */
  readonly tokenExpirationSeconds?: number;
}

export function podSpecSnippet(input: PodSpecInput): string {
  const volumes: Record<string, unknown>[] = [{ name: "gcp-credentials", secret: { secretName: input.credentialsSecretName } }];
  const volumeMounts: Record<string, unknown>[] = [{ name: "gcp-credentials", mountPath: CREDENTIALS_MOUNT_PATH, readOnly: true }];
  if (input.token === "projected-token") {
    volumes.push({
      name: "gcp-token",
      projected: {
        sources: [
          {
            serviceAccountToken: {
              audience: input.tokenAudience,
              expirationSeconds: input.tokenExpirationSeconds ?? 3600,
              path: path.posix.basename(input.tokenPath),
            },
          },
        ],
      },
    });
    volumeMounts.push({ name: "gcp-token", mountPath: path.posix.dirname(input.tokenPath), readOnly: true });
  }
  return stringify(
    {
      spec: {
        serviceAccountName: input.serviceAccount,
        containers: [
          {
            name: "app",
            env: [{ name: "GOOGLE_APPLICATION_CREDENTIALS", value: `${CREDENTIALS_MOUNT_PATH}/${CREDENTIALS_KEY}` }],
            volumeMounts,
          },
        ],
        volumes,
      },
    },
    { lineWidth: 0 },
  );
}
