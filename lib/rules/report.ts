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
      `| ${cell(finding.ruleId)}${finding.checkov ? ` (${finding.checkov})` : ""} | ${cell(finding.stackId)} | ${cell(finding.resource)} | ${cell(`${finding.message}: ${finding.detail}`)} | ${cell(finding.remedy)} |`,
  );
  return ["| rule | stack | resource | message | remedy |", "|---|---|---|---|---|", ...rows].join("\n");
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
