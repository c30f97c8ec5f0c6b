/**
 * The README is the front door and docs/ holds the rest: every relative link of either resolves to a file of the
 * repository, and a `#fragment` to a heading of that file (GitHub's anchors), so moving a section breaks a test,
 * not a reader's click.
 */
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import * as path from "node:path";
import { PROJECT_ROOT } from "./helpers";

function markdownFiles(): string[] {
  const walk = (directory: string): string[] =>
    readdirSync(path.join(PROJECT_ROOT, directory)).flatMap((entry) => {
      const relative = path.posix.join(directory, entry);
      return statSync(path.join(PROJECT_ROOT, relative)).isDirectory() ? walk(relative) : entry.endsWith(".md") ? [relative] : [];
    });
  return ["README.md", ...walk("docs")];
}

/** GitHub's heading anchors: lower case, punctuation but `-` and `_` dropped, spaces to `-`, repeats numbered. */
export function headingAnchors(markdown: string): Set<string> {
  const anchors = new Set<string>();
  const seen = new Map<string, number>();
  let fenced = false;
  for (const line of markdown.split("\n")) {
    if (line.startsWith("```")) fenced = !fenced;
    const heading = fenced ? null : /^#{1,6} (.*)$/.exec(line);
    if (!heading) continue;
    const base = heading[1]
      .toLowerCase()
      .replace(/[^\p{L}\p{N}\s_-]/gu, "")
      .replace(/\s/g, "-");
    const count = seen.get(base) ?? 0;
    seen.set(base, count + 1);
    anchors.add(count === 0 ? base : `${base}-${count}`);
  }
  return anchors;
}

/** `[text](target)` links outside code, with their line. */
function linksOf(markdown: string): { readonly target: string; readonly line: number }[] {
  const links: { target: string; line: number }[] = [];
  let fenced = false;
  markdown.split("\n").forEach((line, index) => {
    if (line.startsWith("```")) fenced = !fenced;
    if (fenced) return;
    for (const match of line.replace(/`[^`]*`/g, "").matchAll(/\]\(([^)\s]+)\)/g)) links.push({ target: match[1], line: index + 1 });
  });
  return links;
}

describe("the documentation's links", () => {
  it("anchors follow GitHub's rules", () => {
    expect([...headingAnchors("# Bootstrap: the pipeline's own identities (`delivery-<env>`)\n## Day 2\n## Day 2\n")]).toEqual([
      "bootstrap-the-pipelines-own-identities-delivery-env",
      "day-2",
      "day-2-1",
    ]);
  });

  const files = markdownFiles();
  it.each(files)("every relative link of %s resolves, anchors included", (file) => {
    const text = readFileSync(path.join(PROJECT_ROOT, file), "utf8");
    const broken = linksOf(text)
      .filter(({ target }) => !/^[a-z]+:/.test(target))
      .flatMap(({ target, line }) => {
        const [pathPart, fragment] = target.split("#") as [string, string | undefined];
        const resolved = pathPart === "" ? file : path.posix.normalize(path.posix.join(path.posix.dirname(file), pathPart));
        if (!existsSync(path.join(PROJECT_ROOT, resolved))) return [`${file}:${line}: ${target} (no file ${resolved})`];
        if (fragment === undefined || !resolved.endsWith(".md")) return [];
        return headingAnchors(readFileSync(path.join(PROJECT_ROOT, resolved), "utf8")).has(fragment) ? [] : [`${file}:${line}: ${target} (no heading #${fragment} in ${resolved})`];
      });
    expect(broken).toEqual([]);
  });

  it("keeps the README a front door of at most 300 lines that links every page of docs/", () => {
    const readme = readFileSync(path.join(PROJECT_ROOT, "README.md"), "utf8");
    expect(readme.split("\n").length).toBeLessThanOrEqual(300);
    const linked = new Set(linksOf(readme).map(({ target }) => target.split("#")[0]));
    expect(files.filter((file) => file.startsWith("docs/") && !linked.has(file))).toEqual([]);
  });
});
