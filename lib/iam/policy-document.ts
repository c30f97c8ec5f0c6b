/**
 * IAM policy documents as typed objects, serialized with JSON.stringify so reviewers and scanners read
 * plain JSON in the synthesized stacks. Values may contain cdktf tokens (`${aws_s3_bucket.x.arn}`) for
 * ARNs that are only known at apply time.
 */
export type OneOrMore<T> = T | readonly T[];

export type ConditionOperator =
  | "StringEquals"
  | "StringNotEquals"
  | "StringLike"
  | "StringNotLike"
  | "StringEqualsIfExists"
  | "ArnEquals"
  | "ArnLike"
  | "ArnNotEquals"
  | "Bool"
  | "BoolIfExists"
  | "NumericLessThanEquals"
  | "ForAnyValue:StringEquals"
  | "ForAnyValue:StringLike"
  | "ForAllValues:StringEquals"
  | "Null";

export type Conditions = Partial<Record<ConditionOperator, Readonly<Record<string, OneOrMore<string>>>>>;

export type Principal =
  | "*"
  | { readonly AWS?: OneOrMore<string>; readonly Service?: OneOrMore<string>; readonly Federated?: OneOrMore<string> };

/** The actions a statement covers: `Action`, or — in a Deny that fences an identity — everything but `NotAction`. */
type StatementActions = { readonly Action: OneOrMore<string>; readonly NotAction?: never } | { readonly NotAction: OneOrMore<string>; readonly Action?: never };
/** Likewise `Resource`, or everything but `NotResource`. */
type StatementResources = { readonly Resource?: OneOrMore<string>; readonly NotResource?: never } | { readonly NotResource: OneOrMore<string>; readonly Resource?: never };

export type PolicyStatement = {
  readonly Sid?: string;
  readonly Effect: "Allow" | "Deny";
  readonly Principal?: Principal;
  readonly Condition?: Conditions;
} & StatementActions &
  StatementResources;

export interface PolicyDocument {
  readonly Version: "2012-10-17";
  readonly Statement: readonly PolicyStatement[];
}

export function policyDocument(...statements: PolicyStatement[]): PolicyDocument {
  return { Version: "2012-10-17", Statement: statements };
}

export function toJson(document: PolicyDocument): string {
  return JSON.stringify(document);
}

/** Denies every request to the bucket and its objects that does not arrive over TLS. */
export function denyInsecureTransport(bucketArn: string): PolicyStatement {
  return {
    Sid: "DenyInsecureTransport",
    Effect: "Deny",
    Principal: "*",
    Action: "s3:*",
    Resource: [bucketArn, `${bucketArn}/*`],
    Condition: { Bool: { "aws:SecureTransport": "false" } },
  };
}
