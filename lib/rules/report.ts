/**
 * The `npm run check` output: a markdown table of findings (readable in a terminal and as a CI artifact),
 * then the accepted ones with their reasons, so a suppression is never silent.
 */
import type { Finding } from "./types";

/** Escapes a table cell: pipes would split it, newlines would end the row. */
export function cell(text: string): string {
  return text.replace(/\|/g, "\\|").replace(/\r?\n/g, " ");
}

export function findingsTable(findings: readonly Finding[]): string {
  const rows = findings.map(
    (finding) =>
      `| ${cell(finding.ruleId)}${finding.checkov ? ` (${finding.checkov})` : ""} | ${cell(finding.stackId)} | ${cell(finding.resource)} | ${cell(`${finding.message}: ${finding.detail}`)} | ${cell(finding.why)} | ${cell(finding.remedy)} |`,
  );
  return ["| rule | stack | resource | message | why | remedy |", "|---|---|---|---|---|---|", ...rows].join("\n");
}

export function suppressedTable(findings: readonly Finding[]): string {
  const rows = findings.map(
    (finding) =>
      `| ${cell(finding.ruleId)} | ${cell(finding.stackId)} | ${cell(finding.resource)} | ${cell(finding.detail)} | ${cell(finding.suppressed?.source ?? "")} | ${cell(finding.suppressed?.reason ?? "")} |`,
  );
  return ["| rule | stack | resource | finding | accepted by | reason |", "|---|---|---|---|---|---|", ...rows].join("\n");
}

/** The whole report for `stackCount` stacks; the caller decides the exit code from the findings. */
export function checkReport(findings: readonly Finding[], stackCount: number, ruleCount: number): string {
  const open = findings.filter((finding) => !finding.suppressed);
  const accepted = findings.filter((finding) => finding.suppressed);
  const lines = [`${ruleCount} rules over ${stackCount} stacks: ${open.length} finding(s), ${accepted.length} accepted with a reason.`, ""];
  if (open.length > 0) lines.push("## Findings", "", findingsTable(open), "");
  if (accepted.length > 0) lines.push("## Accepted (suppressed) findings", "", suppressedTable(accepted), "");
  return lines.join("\n");
}

/** One entry of a GitLab code-quality report (the Code Climate issue subset GitLab reads). */
export interface CodeQualityIssue {
  readonly description: string;
  readonly check_name: string;
  readonly fingerprint: string;
  readonly severity: "info" | "minor" | "major" | "critical" | "blocker";
  readonly location: { readonly path: string; readonly lines: { readonly begin: number } };
}

/**
 * The open findings as a GitLab code-quality report (`artifacts:reports:codequality`), so a merge request
 * shows them. `pathOf` names the file a finding belongs to (the environment's config file where one
 * exists); `fingerprint` must be stable across pipelines for GitLab to tell new findings from old ones.
 * Accepted findings are left out: they carry their reason in the synthesized JSON and in `npm run check`.
 */
export function codeQualityReport(
  findings: readonly Finding[],
  pathOf: (finding: Finding) => string,
  fingerprint: (text: string) => string,
): CodeQualityIssue[] {
  return findings
    .filter((finding) => !finding.suppressed)
    .map((finding) => ({
      description: `${finding.ruleId}${finding.checkov ? ` (${finding.checkov})` : ""} ${finding.stackId} ${finding.resource}: ${finding.message}: ${finding.detail}. Why: ${withoutFinalStop(finding.why)}. Remedy: ${finding.remedy}`,
      check_name: finding.ruleId,
      fingerprint: fingerprint(`${finding.ruleId}\n${finding.stackId}\n${finding.resource}\n${finding.detail}`),
      severity: "critical" as const,
      location: { path: pathOf(finding), lines: { begin: 1 } },
    }));
}

/** A sentence without its final full stop, to be joined with ". ". */
export function withoutFinalStop(text: string): string {
  return text.replace(/\.\s*$/, "");
}
