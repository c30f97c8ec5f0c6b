import { Construct } from "constructs";
import { AwsProvider } from "@cdktf/provider-aws/lib/provider";
import { iamRoleArn } from "../lib/config/delivery";
import type { Environment } from "../lib/config/load";

/**
 * The AWS provider of an environment: its region, pinned to its account (a wrong credential fails the
 * plan instead of touching another account), default tags on every resource, optional assume-role.
 */
export interface EnvironmentAwsProviderOptions {
  /** A second configuration of the provider, for the resources that must not carry tags. @default the default configuration */
  readonly alias?: string;
  /** @default true */
  readonly defaultTags?: boolean;
}

export class EnvironmentAwsProvider extends AwsProvider {
  constructor(scope: Construct, id: string, environment: Environment, options: EnvironmentAwsProviderOptions = {}) {
    super(scope, id, {
      region: environment.aws.region,
      allowedAccountIds: [environment.aws.accountId],
      ...(environment.aws.assumeRoleArn
        ? { assumeRole: [{ roleArn: environment.aws.assumeRoleArn, sessionName: "cluster-identity" }] }
        : {}),
      ...(options.alias ? { alias: options.alias } : {}),
      ...((options.defaultTags ?? true)
        ? {
            defaultTags: [
              {
                tags: {
                  ...environment.tags,
                  environment: environment.name,
                  "managed-by": "cluster-identity",
                },
              },
            ],
          }
        : {}),
    });
  }
}

/**
 * What a stack's customer-managed keys need with `delivery:`: the pipeline roles their policy names, and an
 * untagged provider configuration that creates them (DataKeyProps). Without `delivery:` nothing: the key is tagged
 * and administered through IAM as before.
 */
export function pipelineKeyProps(scope: Construct, environment: Environment): { pipeline?: { deployRoleArn: string; planRoleArn: string }; provider?: AwsProvider } {
  const delivery = environment.delivery;
  if (!delivery) return {};
  const arn = (name: string) => iamRoleArn(environment.aws.partition, environment.aws.accountId, name);
  return {
    pipeline: { deployRoleArn: arn(delivery.deployRoleName), planRoleArn: arn(delivery.planRoleName) },
    provider: new EnvironmentAwsProvider(scope, "aws-untagged", environment, { alias: "untagged", defaultTags: false }),
  };
}
