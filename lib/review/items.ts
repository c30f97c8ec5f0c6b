/**
 * Sets of access facts and how two revisions of one set compare: an item is added or removed, or it is
 * replaced by one that covers it (widened: `s3://b/in/*` → `s3://b/*`, `StringEquals` → `StringLike`, a
 * condition dropped) or that it covers (narrowed). Pure functions, no Terraform knowledge.
 */

export interface ItemPart {
  readonly text: string;
  /** IAM-style wildcards (`*`, `?`) in `text` match any text. */
  readonly glob: boolean;
}

export interface Item {
  /** Identity within its set; the same fact in both revisions has the same key. */
  readonly key: string;
  /** What the report shows. */
  readonly text: string;
  /** Compared one by one for coverage; items with a different number of parts never cover each other. */
  readonly parts: readonly ItemPart[];
  /** Condition operator (StringEquals, StringLike, …): a looser one on the same key is a widening. */
  readonly op?: string;
  /** Ordered alternative to `op`: a higher rank on the same key is a widening (automount off → on). */
  readonly rank?: number;
  /** Stands for "no condition at all": covers every item. */
  readonly any?: boolean;
  /** Stands for "admits nobody" (`assertion.sub in []`, an empty IAM condition list): covered by every item. */
  readonly none?: boolean;
  /** The workload this fact is about, when it is not the whole entity's (a trusted subject). */
  readonly workload?: string;
  /** Where this fact lives, when not in the entity's main resource. */
  readonly resource?: string;
  /** Overrides the entity's cloud (a trust of Principal "*" is public surface). */
  readonly cloud?: "aws" | "gcp" | "kubernetes" | "public";
  /** Markers the reader must not miss: system:masters, cluster-admin, anonymous. */
  readonly flags?: readonly string[];
  /** Items of grouped sets are reported together per group (a resource) with their heads (actions). */
  readonly group?: string;
  readonly head?: string;
}

export function item(key: string, text: string, parts: readonly ItemPart[] = [{ text: key, glob: false }], extra: Partial<Item> = {}): Item {
  return { key, text, parts, ...extra };
}

/** The item a constraint set holds when the revision has no condition on it. */
export const NO_CONDITION: Item = { key: "(no condition)", text: "no condition (any value)", parts: [], any: true };

/** The item a constraint set holds when its condition admits no value at all (an empty list). */
export const NOBODY: Item = { key: "(nobody)", text: "nobody (the condition admits no value)", parts: [], none: true };

/** IAM glob: `*` any run of characters, `?` one character; everything else literal. */
export function globMatches(pattern: string, text: string): boolean {
  const expression = pattern.replace(/[.+^${}()|[\]\\]/g, "\\$&").replace(/\*/g, ".*").replace(/\?/g, ".");
  return new RegExp(`^${expression}$`, "s").test(text);
}

/** True when `wide` admits everything `narrow` admits (and they are different items). */
export function covers(wide: Item, narrow: Item): boolean {
  if (wide.key === narrow.key) return false;
  if (wide.any || narrow.none) return true;
  if (narrow.any || wide.parts.length !== narrow.parts.length || wide.parts.length === 0) return false;
  return wide.parts.every((part, index) => (part.glob ? globMatches(part.text, narrow.parts[index].text) : part.text === narrow.parts[index].text));
}

/**
 * How loose a condition operator is: negations admit nearly everything, `…Like` admits patterns,
 * `…IgnoreCase` more spellings, `…IfExists` tokens without the key.
 */
export function looseness(op: string | undefined): number {
  if (!op) return 0;
  let score = 0;
  if (/Not/.test(op)) score += 50;
  if (/Like/.test(op)) score += 10;
  if (/IgnoreCase/.test(op)) score += 5;
  if (/IfExists$/.test(op)) score += 1;
  if (/^ForAnyValue:/.test(op)) score += 1;
  return score;
}

export type ChangeKind = "added" | "removed" | "widened" | "narrowed";

export interface ItemChange {
  readonly kind: ChangeKind;
  readonly before: readonly Item[];
  readonly after: readonly Item[];
}

/**
 * Compares one set in two revisions. An item in both with a looser operator (or higher rank) is widened;
 * a new item covering vanished ones replaces them (widened), a new item covered by a vanished one narrows
 * it; everything else is added or removed. Deterministic: results in key order.
 */
export function diffItems(before: readonly Item[], after: readonly Item[]): ItemChange[] {
  const beforeByKey = new Map(before.map((entry) => [entry.key, entry]));
  const afterByKey = new Map(after.map((entry) => [entry.key, entry]));
  const changes: ItemChange[] = [];
  for (const [key, next] of [...afterByKey].sort(([a], [b]) => compare(a, b))) {
    const previous = beforeByKey.get(key);
    if (!previous) continue;
    const delta = next.rank !== undefined || previous.rank !== undefined ? (next.rank ?? 0) - (previous.rank ?? 0) : looseness(next.op) - looseness(previous.op);
    if (delta > 0 || (delta === 0 && (next.op ?? "") !== (previous.op ?? ""))) changes.push({ kind: "widened", before: [previous], after: [next] });
    else if (delta < 0) changes.push({ kind: "narrowed", before: [previous], after: [next] });
  }
  const added = [...afterByKey.values()].filter((entry) => !beforeByKey.has(entry.key)).sort((a, b) => compare(a.key, b.key));
  const removed = [...beforeByKey.values()].filter((entry) => !afterByKey.has(entry.key)).sort((a, b) => compare(a.key, b.key));
  const consumedBefore = new Set<string>();
  const consumedAfter = new Set<string>();
  for (const wide of added) {
    const replaced = removed.filter((narrow) => covers(wide, narrow));
    if (replaced.length === 0) continue;
    changes.push({ kind: "widened", before: replaced, after: [wide] });
    consumedAfter.add(wide.key);
    for (const narrow of replaced) consumedBefore.add(narrow.key);
  }
  for (const wide of removed.filter((entry) => !consumedBefore.has(entry.key))) {
    const replacements = added.filter((narrow) => !consumedAfter.has(narrow.key) && covers(wide, narrow));
    if (replacements.length === 0) continue;
    changes.push({ kind: "narrowed", before: [wide], after: replacements });
    consumedBefore.add(wide.key);
    for (const narrow of replacements) consumedAfter.add(narrow.key);
  }
  for (const entry of added) if (!consumedAfter.has(entry.key)) changes.push({ kind: "added", before: [], after: [entry] });
  for (const entry of removed) if (!consumedBefore.has(entry.key)) changes.push({ kind: "removed", before: [entry], after: [] });
  return changes;
}

/** Code-point order: the same on every machine and locale. */
export function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
