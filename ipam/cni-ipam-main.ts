/**
 * tortie-ipam entry point: the CNI IPAM plugin (ipam/plugin/plugin.ts).
 * Reads the network config from stdin, the CNI_* variables from the
 * environment, asks the agent over its control socket, prints the result.
 *
 *   tortie-ipam --version    prints the version (not a CNI command)
 *
 * Kept tiny on purpose: node:http and the CNI helpers, nothing else.
 */
import { runPlugin } from './plugin/plugin.js';
import { socketClient } from './plugin/agent-client.js';

declare const TORTIE_VERSION: string | undefined;

const NAME = 'tortie-ipam';
const version = typeof TORTIE_VERSION === 'string' ? TORTIE_VERSION : 'dev';

function readStdin(): Promise<string> {
  return new Promise((resolve, reject) => {
    if (process.stdin.isTTY === true) {
      resolve('');
      return;
    }
    const chunks: Buffer[] = [];
    process.stdin.on('data', (c: Buffer) => chunks.push(c));
    process.stdin.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    process.stdin.on('error', reject);
  });
}

let answered = false;

// A plugin must never exit 0 without an answer: if the event loop drains
// while a call is still pending, say so as a CNI error.
process.on('beforeExit', () => {
  if (answered) return;
  answered = true;
  process.stdout.write(`${JSON.stringify({ cniVersion: '1.1.0', code: 999, msg: `${NAME}: finished without an answer (a connection was lost)` })}\n`);
  process.exitCode = 1;
});

async function main(): Promise<number> {
  const args = process.argv.slice(2);
  if (process.env.CNI_COMMAND === undefined && (args.includes('--version') || args.includes('-v'))) {
    answered = true;
    process.stdout.write(`${NAME} ${version}\n`);
    return 0;
  }
  const stdin = process.env.CNI_COMMAND === 'VERSION' && process.stdin.isTTY === true ? '' : await readStdin();
  const out = await runPlugin(process.env, stdin, (conf) => socketClient(conf.socket, conf.timeoutMs));
  answered = true;
  process.stdout.write(out.stdout);
  return out.exitCode;
}

main().then((code) => {
  process.exitCode = code;
}, (err: unknown) => {
  answered = true;
  process.stderr.write(`${NAME}: ${(err as Error).stack ?? String(err)}\n`);
  process.exitCode = 1;
});
