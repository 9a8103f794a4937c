/**
 * tortie-ipam entry point (the IPAM CNI plugin): a placeholder until issue 5 lands.
 *
 * It answers `--version` and refuses everything else with exit status 1, so
 * the build pipeline and the bundle test have a real program to work on and
 * nothing pretends to work before it does.
 */

declare const TORTIE_VERSION: string | undefined;

const NAME = 'tortie-ipam';
const ISSUE = 5;
const version = typeof TORTIE_VERSION === 'string' ? TORTIE_VERSION : 'dev';
const args = process.argv.slice(2);

if (args.includes('--version') || args.includes('-v')) {
  process.stdout.write(`${NAME} ${version} (placeholder: see issue ${ISSUE})\n`);
} else {
  process.stderr.write(`${NAME}: not implemented yet (placeholder: see issue ${ISSUE})\n`);
  process.exitCode = 1;
}
