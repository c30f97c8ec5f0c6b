/**
 * Whether two synthesizers produced the same stacks: every `cdktf.out/stacks/<stack>/cdk.tf.json` compared as
 * data (key order aside), apart from the synthesizer's own version in `//.metadata.version`. Used to keep the
 * app synthesizing identically with CDK Terrain (cdktn), the maintained fork of the archived cdktf.
 */

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

/** The stack without what names the synthesizer (`//.metadata.version`). */
export function withoutSynthesizerVersion(stack: Json): Json {
  if (stack === null || typeof stack !== "object" || Array.isArray(stack)) return stack;
  const comment = stack["//"];
  if (comment === null || typeof comment !== "object" || Array.isArray(comment)) return stack;
  const metadata = comment.metadata;
  if (metadata === null || typeof metadata !== "object" || Array.isArray(metadata)) return stack;
  const { version: _version, ...rest } = metadata;
  return { ...stack, "//": { ...comment, metadata: rest } };
}

/** Paths (`resource.aws_iam_role.x.name`) where `a` and `b` differ, at most `limit` of them. */
export function differences(a: Json, b: Json, limit = 10, at = ""): string[] {
  const found: string[] = [];
  const visit = (left: Json, right: Json, where: string): void => {
    if (found.length >= limit) return;
    const bothObjects = left !== null && right !== null && typeof left === "object" && typeof right === "object";
    if (!bothObjects || Array.isArray(left) !== Array.isArray(right)) {
      if (JSON.stringify(left) !== JSON.stringify(right)) found.push(where || "(root)");
      return;
    }
    if (Array.isArray(left) && Array.isArray(right)) {
      if (left.length !== right.length) found.push(`${where} (length ${left.length} vs ${right.length})`);
      else left.forEach((item, index) => visit(item, right[index]!, `${where}[${index}]`));
      return;
    }
    const l = left as { [key: string]: Json };
    const r = right as { [key: string]: Json };
    for (const key of [...new Set([...Object.keys(l), ...Object.keys(r)])].sort()) {
      const path = where ? `${where}.${key}` : key;
      if (!(key in l) || !(key in r)) found.push(`${path} (only in ${key in l ? "the first" : "the second"})`);
      else visit(l[key]!, r[key]!, path);
    }
  };
  visit(a, b, at);
  return found;
}

/** Every stack's differences (empty when the two outputs are the same stacks, equal apart from the version). */
export function stackParity(first: Readonly<Record<string, Json>>, second: Readonly<Record<string, Json>>): string[] {
  const problems: string[] = [];
  for (const stack of [...new Set([...Object.keys(first), ...Object.keys(second)])].sort()) {
    if (!(stack in first) || !(stack in second)) {
      problems.push(`${stack}: synthesized only by ${stack in first ? "the first" : "the second"}`);
      continue;
    }
    for (const path of differences(withoutSynthesizerVersion(first[stack]!), withoutSynthesizerVersion(second[stack]!))) problems.push(`${stack}: ${path}`);
  }
  return problems;
}
