/**
 * tortie, the routed-veth CNI plugin: a placeholder until issue 6 lands.
 *
 * It already speaks the CNI protocol honestly. VERSION gets a real version
 * result, so a runtime can load a conflist that names us. Every other command
 * gets a CNI error result on stdout and exit status 1, so nothing is ever
 * reported as wired when it is not.
 *
 * Error codes come from the CNI spec's "Well-known Error Codes" (1-99 are
 * reserved for the spec; 100 and above belong to the plugin).
 */

declare const TORTIE_VERSION: string | undefined;

const NAME = 'tortie';
const ISSUE = 6;
const version = typeof TORTIE_VERSION === 'string' ? TORTIE_VERSION : 'dev';

const CNI_VERSION = '1.1.0';
const SUPPORTED_VERSIONS = ['0.3.1', '0.4.0', '1.0.0', '1.1.0'] as const;

/** CNI error codes used here. */
const CniErrorCode = {
  /** Spec: invalid necessary environment variables (the message names them). */
  InvalidEnvironmentVariables: 4,
  /** Spec, STATUS only: the plugin cannot service ADD requests. */
  PluginNotAvailable: 50,
  /** Plugin-specific generic failure; libcni uses the same number as its "internal" error. */
  Internal: 999,
} as const;

interface CniError {
  cniVersion: string;
  code: number;
  msg: string;
  details?: string;
}

const KNOWN_COMMANDS = new Set(['ADD', 'DEL', 'CHECK', 'GC', 'STATUS', 'VERSION']);
const placeholderDetails = `${NAME} ${version} is a placeholder: see issue ${ISSUE}`;

function fail(error: CniError): void {
  process.stdout.write(`${JSON.stringify(error)}\n`);
  process.exitCode = 1;
}

const command = process.env.CNI_COMMAND ?? '';
const args = process.argv.slice(2);

if (command === 'VERSION') {
  process.stdout.write(
    `${JSON.stringify({ cniVersion: CNI_VERSION, supportedVersions: SUPPORTED_VERSIONS })}\n`,
  );
} else if (command === '' && (args.includes('--version') || args.includes('-v'))) {
  process.stdout.write(`${NAME} ${version} (placeholder: see issue ${ISSUE})\n`);
} else if (!KNOWN_COMMANDS.has(command)) {
  fail({
    cniVersion: CNI_VERSION,
    code: CniErrorCode.InvalidEnvironmentVariables,
    msg: command === '' ? 'CNI_COMMAND is not set' : `CNI_COMMAND has an unknown value: ${command}`,
    details: 'invalid variables: CNI_COMMAND',
  });
} else if (command === 'STATUS') {
  fail({
    cniVersion: CNI_VERSION,
    code: CniErrorCode.PluginNotAvailable,
    msg: 'plugin not available: ADD is not implemented yet',
    details: placeholderDetails,
  });
} else {
  fail({
    cniVersion: CNI_VERSION,
    code: CniErrorCode.Internal,
    msg: `${command} is not implemented yet`,
    details: placeholderDetails,
  });
}
