import { Construct } from "constructs";
import { GoogleProvider, GoogleProviderConfig } from "@cdktf/provider-google/lib/provider";
import type { Environment } from "../lib/config/load";

function providerConfig(environment: Environment): GoogleProviderConfig {
  const gcp = environment.catalog.gcp;
  if (!gcp) throw new Error(`${environment.file}: the Google provider needs a gcp: section`);
  return {
    project: gcp.projectId,
    region: gcp.region,
    // Only on resources that take labels. `managed_by`, not the AWS tag's `managed-by`: cdktf snake-cases
    // every key of a provider block, so that is what Terraform would get anyway.
    defaultLabels: { environment: environment.name, managed_by: "cluster-identity" },
  };
}

/**
 * The Google provider of an environment: its project and region. No credentials here or in the config:
 * Terraform uses Application Default Credentials (or GOOGLE_CREDENTIALS / GOOGLE_IMPERSONATE_SERVICE_ACCOUNT)
 * of whoever deploys, so the repository never holds a key.
 */
export class EnvironmentGoogleProvider extends GoogleProvider {
  constructor(scope: Construct, id: string, environment: Environment) {
    super(scope, id, providerConfig(environment));
  }
}
