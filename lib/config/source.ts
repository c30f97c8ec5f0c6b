/**
 * A config file's YAML document with its source positions, so that every config issue can name the
 * `line:col` of the node it is about. Generic over field paths: any path the schema or a cross-field check
 * reports (`workloads[0].aws.s3[1].bucket`, a field added later) is looked up in the document as written.
 */
import { Document, isAlias, isMap, isPair, isScalar, isSeq, LineCounter, Node, Pair, parseDocument, YAMLMap } from "yaml";

export interface SourcePosition {
  /** 1-based. */
  readonly line: number;
  /** 1-based. */
  readonly column: number;
}

export type FieldPath = readonly (string | number)[];

/** Config files are small; anything bigger is a mistake (or an attack on the parser). */
export const MAX_CONFIG_BYTES = 1024 * 1024;
/** Alias expansions `toJS` accepts; a config has no use for many (YAML "billion laughs" otherwise). */
export const MAX_ALIAS_COUNT = 100;

/** `workloads[0].aws.s3[1].bucket` → `["workloads", 0, "aws", "s3", 1, "bucket"]`. */
export function parseFieldPath(field: string): (string | number)[] {
  const parts: (string | number)[] = [];
  for (const match of field.matchAll(/([^.[\]]+)|\[(\d+)\]/g)) parts.push(match[2] !== undefined ? Number(match[2]) : match[1]);
  return parts;
}

/** `["workloads", 0, "aws"]` → `workloads[0].aws`. */
export function formatFieldPath(parts: readonly PropertyKey[]): string {
  return parts
    .map((part, index) => (typeof part === "number" ? `[${part}]` : `${index === 0 ? "" : "."}${String(part)}`))
    .join("");
}

export interface SyntaxProblem extends SourcePosition {
  /** Dotted path of the key the problem is at, when it can be told; else empty. */
  readonly field: string;
  readonly message: string;
}

export class ConfigSource {
  readonly document: Document.Parsed;
  private readonly lines = new LineCounter();

  constructor(readonly text: string) {
    // merge: `<<: *base` merges an anchored map (YAML 1.1 merge keys), as platform configs often share settings.
    this.document = parseDocument(text, { prettyErrors: false, uniqueKeys: true, merge: true, lineCounter: this.lines });
  }

  position(offset: number): SourcePosition {
    const { line, col } = this.lines.linePos(offset);
    return { line, column: col };
  }

  /** The YAML syntax errors, each with its position and the key it is at. */
  syntaxProblems(): SyntaxProblem[] {
    const seen = new Set<string>();
    const problems: SyntaxProblem[] = [];
    for (const error of this.document.errors) {
      const position = this.position(error.pos[0]);
      const key = `${position.line}:${position.column}`;
      // One line per place: the parser often reports a second, derived error at the same spot.
      if (seen.has(key)) continue;
      seen.add(key);
      let message = error.message.replace(/\s+/g, " ").trim();
      const path = this.pathAt(error.pos[0]);
      if (error.code === "DUPLICATE_KEY") {
        const duplicate = path.length > 0 ? String(path[path.length - 1]) : this.keyOnLine(position.line);
        message = `duplicate key "${duplicate}": map keys must be unique`;
      }
      problems.push({ ...position, field: formatFieldPath(path) || this.keyOnLine(position.line), message });
    }
    return problems;
  }

  /** The document as plain data; throws a RangeError-like Error for an alias bomb (see MAX_ALIAS_COUNT). */
  toJS(): unknown {
    return this.document.toJS({ maxAliasCount: MAX_ALIAS_COUNT });
  }

  /** Position of the first alias (`*name`), where an alias bomb is reported. */
  firstAliasPosition(): SourcePosition {
    const match = /(^|[\s[{,:-])\*[^\s,\]}]+/m.exec(this.text);
    return match ? this.position(match.index + match[1].length) : { line: 1, column: 1 };
  }

  /**
   * Where a field is written: its value's node (its key's with `{ key: true }`, or when the value is empty).
   * A field that is not in the document (a missing one, a default) points at the nearest map or list that
   * is: the parent it is missing from.
   *
   * A field reached through an alias (`*name`) or a merge key (`<<: *name`) is reported where that alias or
   * merge is written — in the entry the field belongs to, not at the anchor shared by several — and `through`
   * names it (every one on the way, outermost first) and where in the anchor the field is:
   * `through the merge <<: *base at 12:5, into &base at 3:11`.
   */
  positionOf(path: readonly PropertyKey[], options: { readonly key?: boolean } = {}): SourcePosition & { readonly through?: string } {
    const hops: Hop[] = [];
    const found = this.walk(path, options, hops);
    if (hops.length === 0) return found;
    const first = hops[0]!;
    const chain = hops.map((hop) => `${hop.text} at ${hop.at.line}:${hop.at.column}`).join(", then ");
    const anchor = hops[hops.length - 1]!.anchor;
    return { ...first.at, through: `through ${chain}, into ${anchor ? `&${anchor} ` : ""}at ${found.line}:${found.column}` };
  }

  private walk(path: readonly PropertyKey[], options: { readonly key?: boolean }, hops: Hop[]): SourcePosition {
    let node: unknown = this.document.contents;
    let fallback: SourcePosition = { line: 1, column: 1 };
    const start = rangeStart(node);
    if (start !== undefined) fallback = this.position(start);
    for (let index = 0; index < path.length; index += 1) {
      node = this.resolve(node);
      const part = path[index];
      const last = index === path.length - 1;
      if (isMap(node)) {
        const pair = this.pairOf(node, String(part), hops);
        if (!pair) return fallback;
        const keyStart = rangeStart(pair.key);
        const valueStart = rangeStart(this.resolve(pair.value));
        const emptyValue = pair.value === null || (isScalar(pair.value) && pair.value.value === null && pair.value.source === undefined);
        if (last && (options.key || emptyValue) && keyStart !== undefined) return this.position(keyStart);
        if (last && emptyValue && keyStart === undefined) return fallback;
        node = pair.value;
        this.aliasHop(node, hops);
        if (valueStart !== undefined) fallback = this.position(valueStart);
        else if (keyStart !== undefined) fallback = this.position(keyStart);
      } else if (isSeq(node) && typeof part === "number" && part < node.items.length) {
        node = node.items[part];
        this.aliasHop(node, hops);
        const itemStart = rangeStart(this.resolve(node));
        if (itemStart !== undefined) fallback = this.position(itemStart);
      } else {
        return fallback;
      }
    }
    return fallback;
  }

  /**
   * The pair of a map for a key: its own, else the one a merge key brings in (`<<: *base`, `<<: [*a, *b]`: own
   * keys win, then the merged maps in order, as toJS resolves them). A pair found through a merge adds a hop.
   */
  private pairOf(map: YAMLMap, key: string, hops: Hop[]): Pair | undefined {
    const own = map.items.find((item) => isPair(item) && !isMergeKey(item.key) && keyText(item.key) === key);
    if (own) return own;
    for (const merge of map.items) {
      if (!isPair(merge) || !isMergeKey(merge.key)) continue;
      const sources = isSeq(merge.value) ? merge.value.items : [merge.value];
      for (const source of sources) {
        const target = this.resolve(source);
        if (!isMap(target)) continue;
        const inner: Hop[] = [];
        const pair = this.pairOf(target, key, inner);
        if (!pair) continue;
        const at = rangeStart(merge.key);
        const value = merge.value as Node | null;
        const written = value && Array.isArray(value.range) ? this.text.slice(value.range[0], value.range[1]).replace(/\s+/g, " ").trim() : "";
        hops.push({
          text: `the merge <<: ${written.length > 40 ? `${written.slice(0, 39)}…` : written}`,
          at: at !== undefined ? this.position(at) : { line: 1, column: 1 },
          ...(isAlias(source) ? { anchor: source.source } : {}),
        });
        hops.push(...inner);
        return pair;
      }
    }
    return undefined;
  }

  /** A hop for a value or item that is an alias. */
  private aliasHop(node: unknown, hops: Hop[]): void {
    if (!isAlias(node)) return;
    const at = rangeStart(node);
    hops.push({ text: `the alias *${node.source}`, at: at !== undefined ? this.position(at) : { line: 1, column: 1 }, anchor: node.source });
  }

  private resolve(node: unknown): unknown {
    let current = node;
    for (let hops = 0; isAlias(current) && hops < 10; hops += 1) current = current.resolve(this.document);
    return current;
  }

  /** Path of the innermost key/value pair around an offset. */
  private pathAt(offset: number): (string | number)[] {
    const path: (string | number)[] = [];
    let node: unknown = this.document.contents;
    for (;;) {
      if (isMap(node)) {
        const pair = node.items.find((item) => isPair(item) && containsOffset(item.key, item.value, offset));
        if (!pair) break;
        path.push(keyText(pair.key));
        node = pair.value;
      } else if (isSeq(node)) {
        const index = node.items.findIndex((item) => containsOffset(item, undefined, offset));
        if (index < 0) break;
        path.push(index);
        node = node.items[index];
      } else break;
    }
    return path;
  }

  private keyOnLine(line: number): string {
    const text = this.text.split(/\r?\n/)[line - 1] ?? "";
    const match = /^[\t ]*(?:-[\t ]+)?([^\s:#'"{}[\],][^:#{}[\],]*?)[\t ]*:(?:\s|$)/.exec(text);
    return match ? match[1] : "";
  }
}

function rangeStart(node: unknown): number | undefined {
  return node && typeof node === "object" && "range" in node && Array.isArray((node as Node).range) ? (node as Node).range![0] : undefined;
}

function containsOffset(from: unknown, to: unknown, offset: number): boolean {
  const start = rangeStart(from);
  const endNode = (to ?? from) as Node | null;
  const end = endNode && typeof endNode === "object" && Array.isArray(endNode.range) ? endNode.range[2] : undefined;
  return start !== undefined && end !== undefined && start <= offset && offset < end;
}

/** One alias or merge key a field path goes through. */
interface Hop {
  /** `the alias *grants`, `the merge <<: *base`. */
  readonly text: string;
  readonly at: SourcePosition;
  readonly anchor?: string;
}

/** `<<` of a map (with the merge option, its value is a symbol). */
function isMergeKey(key: unknown): boolean {
  return isScalar(key) && typeof key.value === "symbol" && key.source === "<<";
}

function keyText(key: unknown): string {
  if (isScalar(key)) return String(key.value);
  return String(key);
}
