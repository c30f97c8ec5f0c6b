/**
 * The problems a config can have, as every module of lib/config reports them: the loader's `ConfigIssue` (with
 * the file and position) and the resolvers' `CatalogIssue` (the loader adds the file). A module of its own, so
 * that the resolvers and the loader import them from below instead of from each other.
 */

export interface ConfigIssue {
  readonly file: string;
  /** 1-based line of the offending node (for a missing field: of the map it is missing from). */
  readonly line?: number;
  /** 1-based column, with `line`. */
  readonly column?: number;
  /** Dotted path of the field, e.g. `cluster.issuer.bucketName`; empty for the whole document. */
  readonly field: string;
  readonly value: unknown;
  readonly rule: string;
  /** The problem has no value to show (a YAML syntax error): `file:line:col: field: rule`. @default false */
  readonly omitValue?: boolean;
  /** The field is reached through an alias or merge key (reported where that is written): which, and where the value sits. */
  readonly through?: string;
}

export function formatIssue(issue: ConfigIssue): string {
  const file = issue.line === undefined ? issue.file : `${issue.file}:${issue.line}:${issue.column ?? 1}`;
  const rule = issue.through ? `${issue.rule} (${issue.through})` : issue.rule;
  if (issue.omitValue) return issue.field ? `${file}: ${issue.field}: ${rule}` : `${file}: ${rule}`;
  const where = issue.field ? `${file}: ${issue.field}` : file;
  const value = issue.value === undefined ? "(missing)" : JSON.stringify(issue.value);
  return `${where} = ${value}: ${rule}`;
}

export class ConfigError extends Error {
  constructor(readonly issues: readonly ConfigIssue[]) {
    super(issues.map(formatIssue).join("\n"));
    this.name = "ConfigError";
  }
}

/** Reported by the loader with the file name prepended. */
export interface CatalogIssue {
  readonly field: string;
  readonly value: unknown;
  readonly rule: string;
}
