/** Markdown helpers of the generated references: text from the code is shown as written, never as markup. */

/**
 * Plain text as Markdown text: `*`, `<`, `>`, `[`, `]`, `\` and word-boundary `_` escaped (`<env>` would be an
 * HTML tag, `*Admin … *` emphasis). Backtick spans in `text` are kept as code.
 */
export function inline(text: string): string {
  return text
    .split(/(`[^`]*`)/)
    .map((part, index) => (index % 2 === 1 ? part : part.replace(/[\\*<>[\]]|(?<![A-Za-z0-9])_|_(?![A-Za-z0-9])/g, (c) => `\\${c}`)))
    .join("");
}

/** A code span holding `text` whatever backticks it contains. */
export function code(text: string): string {
  const longest = Math.max(0, ...[...text.matchAll(/`+/g)].map((run) => run[0].length));
  const fence = "`".repeat(longest + 1);
  return /^`|`$/.test(text) ? `${fence} ${text} ${fence}` : `${fence}${text}${fence}`;
}

/** A table cell: a `|` (in text or code) escaped, as GitHub tables need; never a line break. */
export function cell(markdown: string): string {
  return markdown.replace(/\|/g, "\\|").replace(/\n/g, " ");
}

export function tableRow(cells: readonly string[]): string {
  return `| ${cells.map(cell).join(" | ")} |`;
}

export function table(header: readonly string[], rows: readonly (readonly string[])[]): string[] {
  return [tableRow(header), `|${header.map(() => "---").join("|")}|`, ...rows.map(tableRow)];
}
