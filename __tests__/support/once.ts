/**
 * `make()` on the first call, its value on every later one: for an expensive input several tests share (a synth)
 * made when a test first needs it rather than while the file loads. A file loads even when none of its tests is
 * selected — `npm run mutation` selects a mutant's covering tests by name, in every related file — so work done
 * at load is paid once per mutant.
 */
export function once<T>(make: () => T): () => T {
  let made: { readonly value: T } | undefined;
  return () => (made ??= { value: make() }).value;
}
