/**
 * The app's layering, checked by dependency-cruiser (`npm run layering`; in `npm test` through
 * __tests__/layering.test.ts). Imports go one way, from the entry points down to the facts:
 *
 *   main.ts, scripts/, bin/                          entry points: imported by nothing of the app
 *   lib/environment-stacks.ts, run-synth.ts,         wiring and synth: config in, stacks created, synthesized,
 *     synthesize.ts                                    the rule pack run over the result
 *   stacks/                                          one stack class per component
 *   constructs/                                      reusable constructs (and the Aspect that runs the rule pack)
 *   lib/delivery, lib/gitlab, lib/kubernetes         builders: read the model, make documents
 *   lib/rules, lib/review, lib/terraform, lib/ci     checks and reports over synthesized JSON (and plans)
 *   lib/config                                       the model: schema, loader, resolvers
 *   lib/iam, lib/oidc, lib/gcp                       facts: pure knowledge of the clouds
 *
 * The cruise covers __tests__/ as well: no cycles there either, and a module that only tests import is not dead code.
 * Type-only imports count as imports (the swc parser does not tell them apart): the layering holds for types too.
 * The TypeScript parser is not used because TypeScript 7 has no JavaScript API; no `tsConfig` either, so that the
 * packages `cdktf` and `constructs` are not resolved to ./cdktf.json and ./constructs/ (no path aliases are used).
 */

/** Every module of the app; anything else (node_modules, node's own modules) is not ours to layer. */
const APP = "^(lib|stacks|constructs|scripts|bin|__tests__)/|^main[.]ts$";
const FACTS = "lib/(iam|oidc|gcp)/";
const MODEL = "lib/config/";
const BUILDERS = "lib/(delivery|gitlab|kubernetes)/";
const CHECKS = "lib/(rules|review|terraform|ci)/";

/** A rule: modules under `from` import, of the app's modules, only those matching one of `allowed`. */
function importsOnly(name, comment, from, allowed) {
  return { name, comment, severity: "error", from: { path: from }, to: { path: APP, pathNot: `^(${allowed.join("|")})` } };
}

module.exports = {
  forbidden: [
    {
      name: "no-circular",
      comment: "No import cycles, type-only ones included: a cycle means two modules cannot be changed or loaded one without the other.",
      severity: "error",
      from: {},
      to: { circular: true },
    },
    {
      name: "no-orphans",
      comment:
        "Every module of the app is imported by another (a test counts: lib/gcp/extract.ts evaluates synthesized CEL offline), or is an entry point (main.ts, scripts/*, bin/*): anything else is dead code.",
      severity: "error",
      from: { orphan: true, path: "^(lib|stacks|constructs)/" },
      to: {},
    },
    importsOnly("facts-import-facts", "lib/iam, lib/oidc and lib/gcp know the clouds, not this app: they import nothing of ours above them.", `^${FACTS}`, [FACTS]),
    importsOnly("model-imports-facts", "lib/config (the model) builds on the facts only: never on a builder, a check, a construct or a stack.", `^${MODEL}`, [MODEL, FACTS]),
    importsOnly("builders-read-the-model", "lib/delivery, lib/gitlab and lib/kubernetes read the model and make documents: never a construct, a stack or the wiring.", `^${BUILDERS}`, [BUILDERS, MODEL, FACTS]),
    importsOnly(
      "checks-read-synthesized-json",
      "lib/rules, lib/review, lib/terraform and lib/ci read synthesized JSON (and plans): never the model, a builder, a construct or a stack. They may read where a field is written in a config file (lib/config/source.ts, which knows YAML, not the model): the review locates each change at its config line.",
      `^${CHECKS}`,
      [CHECKS, FACTS, "lib/config/source[.]ts$"],
    ),
    importsOnly("constructs-below-stacks", "constructs/ build on the builders, the model, the facts and the rule pack (the Aspect): never on a stack or the wiring.", "^constructs/", ["constructs/", BUILDERS, MODEL, FACTS, "lib/rules/"]),
    importsOnly("stacks-below-wiring", "stacks/ are made of constructs and documents: never the wiring, the review, offline terraform or the CI pipeline.", "^stacks/", ["stacks/", "constructs/", BUILDERS, MODEL, FACTS, "lib/rules/"]),
    {
      name: "entry-points-are-not-imported",
      comment: "main.ts, scripts/ and bin/ are entry points: lib/, stacks/ and constructs/ never import them.",
      severity: "error",
      from: { path: "^(lib|stacks|constructs)/" },
      to: { path: "^(main[.]ts$|scripts/|bin/)" },
    },
    {
      name: "app-does-not-import-tests",
      comment: "The app never imports from __tests__/.",
      severity: "error",
      from: { path: "^(lib|stacks|constructs|scripts|bin)/|^main[.]ts$" },
      to: { path: "^__tests__/" },
    },
  ],
  options: {
    parser: "swc",
    includeOnly: APP,
    exclude: { path: "^(node_modules|dist|cdktf[.]out|reports)/" },
    enhancedResolveOptions: { extensions: [".ts", ".js", ".json"] },
  },
};
