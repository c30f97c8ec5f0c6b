/** The command line of `npm run review` (scripts/review.ts). */
import { BaseRevisionError } from "./base-revision";

export interface ReviewOptions {
  /** Directory of `terraform show -json` plans, `<stack>.json`. @default CLUSTER_IDENTITY_PLANS, else `<outdir>/plans` */
  readonly plans?: string;
  /** The base revision's cdktf.out. @default no base: the report has no `## Access changes` */
  readonly base?: string;
  /** A git ref to synthesize as the base revision. @default no base */
  readonly baseRef?: string;
  /** Also write the access changes to review as a GitLab code-quality report to this file. @default none */
  readonly codequality?: string;
  /** Only this environment's changes in the code-quality report (a child pipeline's `review:<env>`). @default all */
  readonly codequalityEnvironment?: string;
}

const FLAGS: Readonly<Record<string, keyof ReviewOptions>> = {
  "--plans": "plans",
  "--base": "base",
  "--base-ref": "baseRef",
  "--codequality": "codequality",
  "--codequality-environment": "codequalityEnvironment",
};

/** `--flag value` or `--flag=value`; anything else is an error naming the argument. */
export function parseReviewArguments(argv: readonly string[]): ReviewOptions {
  const options: Record<string, string> = {};
  for (let index = 0; index < argv.length; index++) {
    const [flag, inline] = argv[index].includes("=") ? [argv[index].slice(0, argv[index].indexOf("=")), argv[index].slice(argv[index].indexOf("=") + 1)] : [argv[index], undefined];
    const key = FLAGS[flag];
    if (!key) throw new BaseRevisionError(`review: ${argv[index]}: unknown argument; use --base <cdktf.out of the base revision>, --base-ref <git ref>, --plans <dir>, --codequality <file> or --codequality-environment <env>`);
    const value = inline ?? argv[++index];
    if (value === undefined || value === "") throw new BaseRevisionError(`review: ${flag}: needs a value`);
    if (options[key] !== undefined) throw new BaseRevisionError(`review: ${flag} = ${value}: given twice`);
    options[key] = value;
  }
  if (options.base !== undefined && options.baseRef !== undefined)
    throw new BaseRevisionError(`review: --base = ${options.base} and --base-ref = ${options.baseRef}: give one base revision, not both`);
  return options;
}
