import { Construct } from "constructs";
import { OidcStack } from "../stacks/oidc-stack";
import type { Environment } from "./config/load";

/** The stacks of one environment, wired to each other through their public readonly properties. */
export interface EnvironmentStacks {
  readonly oidc: OidcStack;
}

export function createEnvironmentStacks(app: Construct, environment: Environment): EnvironmentStacks {
  const oidc = new OidcStack(app, environment);
  return { oidc };
}
