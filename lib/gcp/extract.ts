/**
 * Google's `extract` CEL function, which attribute mappings and IAM conditions use and open-source CEL
 * engines do not implement: `value.extract('prefix{name}suffix')` returns the part of `value` between the
 * first occurrence of `prefix` and the next occurrence of `suffix` after it (the rest of the string when
 * the suffix is empty), or `''` when the template does not match. Used to evaluate the synthesized
 * attribute mapping offline, exactly as Google's STS would.
 */
export function extractTemplate(value: string, template: string): string {
  const match = /^([^{}]*)\{[^{}]+\}([^{}]*)$/.exec(template);
  if (!match) throw new Error(`extract template "${template}" must contain exactly one {name} placeholder`);
  const [, prefix, suffix] = match;
  const start = value.indexOf(prefix);
  if (start < 0) return "";
  const from = start + prefix.length;
  if (suffix === "") return value.slice(from);
  const end = value.indexOf(suffix, from);
  return end < 0 ? "" : value.slice(from, end);
}
