/**
 * tortie-agent entry point.
 *
 *   tortie-agent --config FILE          run the node agent
 *   tortie-agent --check-config FILE    validate FILE, print every error, exit 0/1
 *   tortie-agent --version
 *
 * SIGHUP reloads the configuration. SIGTERM and SIGINT stop the agent for a
 * restart: kernel routes stay and, with graceful restart on, sessions close
 * without a NOTIFICATION so peers keep our routes meanwhile. SIGUSR2 drains:
 * sessions close with Cease, so peers withdraw our routes at once.
 */
import bunyan from 'bunyan';
import { Agent, AGENT_VERSION } from './agent.js';
import { checkConfigFile } from './config/index.js';
import { NodeCommandRunner } from './kernel/command-runner.js';
import type { Logger } from '../lib/log.js';

const USAGE = `usage: tortie-agent --config FILE | --check-config FILE | --version

  --config FILE        Run the agent with this YAML configuration (see docs/config.md).
  --check-config FILE  Validate FILE: print every error with its line and field, exit 1 if any.
  --version            Print the version.

Signals:
  SIGHUP          reload the configuration (only the difference is applied)
  SIGTERM/SIGINT  stop for a restart: kernel routes stay; with graceful restart
                  on, sessions close without a NOTIFICATION, so peers keep
                  routing to this node for restartTimeSec
  SIGUSR2         stop and drain: sessions close with Cease, so peers withdraw
                  this node's routes at once (kernel routes still stay)
`;

async function main(argv: string[]): Promise<number> {
  const arg = (name: string): string | undefined => {
    const i = argv.indexOf(name);
    return i >= 0 ? argv[i + 1] : undefined;
  };
  if (argv.includes('--version') || argv.includes('-v')) {
    process.stdout.write(`tortie-agent ${AGENT_VERSION}\n`);
    return 0;
  }
  if (argv.includes('--help') || argv.includes('-h')) {
    process.stdout.write(USAGE);
    return 0;
  }
  const check = arg('--check-config');
  if (argv.includes('--check-config')) {
    if (!check) {
      process.stderr.write(USAGE);
      return 2;
    }
    const r = checkConfigFile(check);
    (r.ok ? process.stdout : process.stderr).write(r.text.endsWith('\n') ? r.text : r.text + '\n');
    return r.ok ? 0 : 1;
  }
  const configFile = arg('--config') ?? process.env.TORTIE_CONFIG;
  if (!configFile) {
    process.stderr.write(USAGE);
    return 2;
  }
  const level = (process.env.TORTIE_LOG_LEVEL ?? 'info') as bunyan.LogLevel;
  const log = bunyan.createLogger({ name: 'tortie-agent', level, streams: [{ stream: process.stdout, level }] }) as unknown as Logger;
  const agent = new Agent({ configFile, runner: new NodeCommandRunner(), log });
  try {
    await agent.start();
  } catch (err) {
    process.stderr.write(`tortie-agent: ${(err as Error).message}\n`);
    return 1;
  }
  process.on('SIGHUP', () => {
    agent.reload('SIGHUP').catch((err: unknown) => log.error({ err: (err as Error).message }, 'reload after SIGHUP failed unexpectedly'));
  });
  return new Promise<number>((resolve) => {
    let stopping = false;
    const stop = (sig: string, mode: 'restart' | 'drain'): void => {
      if (stopping) return;
      stopping = true;
      agent.stop(`received ${sig}`, mode).then(() => resolve(0), (err: unknown) => {
        process.stderr.write(`tortie-agent: ${(err as Error).message}\n`);
        resolve(1);
      });
    };
    process.once('SIGTERM', () => stop('SIGTERM', 'restart'));
    process.once('SIGINT', () => stop('SIGINT', 'restart'));
    process.once('SIGUSR2', () => stop('SIGUSR2', 'drain'));
  });
}

main(process.argv.slice(2)).then((code) => {
  process.exitCode = code;
}, (err: unknown) => {
  process.stderr.write(`tortie-agent: ${(err as Error).stack ?? String(err)}\n`);
  process.exitCode = 1;
});
