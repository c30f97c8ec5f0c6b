import { Construct } from "constructs";
import { AwsProvider } from "@cdktf/provider-aws/lib/provider";
import type { Environment } from "../lib/config/load";

/**
 * The AWS provider of an environment: its region, pinned to its account (a wrong credential fails the
 * plan instead of touching another account), default tags on every resource, optional assume-role.
 */
export class EnvironmentAwsProvider extends AwsProvider {
  constructor(scope: Construct, id: string, environment: Environment) {
    super(scope, id, {
      region: environment.aws.region,
      allowedAccountIds: [environment.aws.accountId],
      ...(environment.aws.assumeRoleArn
        ? { assumeRole: [{ roleArn: environment.aws.assumeRoleArn, sessionName: "cluster-identity" }] }
        : {}),
      defaultTags: [
        {
          tags: {
            ...environment.tags,
            environment: environment.name,
            "managed-by": "cluster-identity",
          },
        },
      ],
    });
  }
}
