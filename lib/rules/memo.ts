/**
 * Facts derived once per object (a synthesized stack, an environment) and kept as long as the object lives: rules
 * ask the same question of every resource they check, so an index built per call would make a pass quadratic.
 */
const facts = new WeakMap<object, Map<string, unknown>>();

/** `compute()` the first time `key` is asked of `owner`, the same value afterwards. */
export function memoized<T>(owner: object, key: string, compute: () => T): T {
  let known = facts.get(owner);
  if (!known) facts.set(owner, (known = new Map()));
  if (!known.has(key)) known.set(key, compute());
  return known.get(key) as T;
}
