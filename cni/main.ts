/**
 * tortie, the routed-veth CNI plugin (entry point of dist/bin/tortie).
 *
 * Reads CNI_* from the environment and the network config from stdin,
 * runs one command and prints its result (ADD), nothing (DEL, CHECK, GC,
 * STATUS) or the VERSION result on stdout with exit 0; on failure a CNI
 * error `{cniVersion, code, msg, details}` on stdout and exit 1. Warnings
 * go to stderr. See cni/README.md.
 *
 * Start-up cost is most of a CNI plugin's latency, so the bundle loads only
 * our own code and node:fs: programs run through the spawn_sync binding
 * (spawn-sync.ts), not node:child_process, and tortie-ipam's in-process
 * code (with node:http) loads only when the config names it.
 */
import { readFileSync, readSync, writeSync } from 'node:fs';
import {
  CURRENT_VERSION,
  asCniError,
  decodeNetConf,
  encodeResult,
  isSupportedVersion,
  parseCniCommand,
  parseCniEnv,
  parseJsonObject,
  versionResult,
  type CniVersion,
} from './spec/index.js';
import { cmdAdd } from './cmd-add.js';
import { cmdCheck } from './cmd-check.js';
import { cmdDel } from './cmd-del.js';
import { cmdGc } from './cmd-gc.js';
import { cmdStatus } from './cmd-status.js';
import type { CommandContext } from './context.js';
import { failPointFrom } from './fail-points.js';
import { NodeHost } from './host.js';
import { decodeTortieConf } from './plugin-config.js';

declare const TORTIE_VERSION: string | undefined;
const version = typeof TORTIE_VERSION === 'string' ? TORTIE_VERSION : 'dev';

function out(text: string): void {
  writeSync(1, `${text}\n`);
}

/** stdin as text: synchronously (a pipe from the runtime), else '' (a terminal or nothing). */
function readStdin(): string {
  try {
    return readFileSync(0, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EAGAIN') return readStdinRetry();
    return '';
  }
}

/** A non-blocking stdin pipe: keep reading until EOF. */
function readStdinRetry(): string {
  const chunks: Buffer[] = [];
  const buf = Buffer.alloc(65536);
  for (;;) {
    let n: number;
    try {
      n = readSync(0, buf, 0, buf.length, null);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'EAGAIN') continue;
      throw err;
    }
    if (n === 0) break;
    chunks.push(Buffer.from(buf.subarray(0, n)));
  }
  return Buffer.concat(chunks).toString('utf8');
}

/** TORTIE_CNI_TIMING=1: per-step wall and CPU times on stderr (a diagnostic; runtimes never set it). */
const timing: [string, number, NodeJS.CpuUsage][] | undefined = process.env.TORTIE_CNI_TIMING === '1' ? [['start', performance.now(), process.cpuUsage()]] : undefined;

function printTiming(): void {
  if (!timing) return;
  timing.push(['end', performance.now(), process.cpuUsage()]);
  const rows = timing.slice(1).map(([step, t, cpu], i) => {
    const [, t0, cpu0] = timing[i];
    const cpuMs = (cpu.user + cpu.system - cpu0.user - cpu0.system) / 1000;
    return `  ${step.padEnd(14)} +${(t - t0).toFixed(1).padStart(6)} ms wall ${cpuMs.toFixed(1).padStart(6)} ms cpu`;
  });
  process.stderr.write(`tortie timing (since process start ${timing[0][1].toFixed(1)} ms, cpu ${((timing[0][2].user + timing[0][2].system) / 1000).toFixed(1)} ms):\n${rows.join('\n')}\n`);
}

async function main(): Promise<number> {
  let cniVersion: CniVersion = CURRENT_VERSION;
  try {
    if (process.env.CNI_COMMAND === undefined && process.argv.slice(2).some((a) => a === '--version' || a === '-v')) {
      out(`tortie ${version}`);
      return 0;
    }
    const command = parseCniCommand(process.env);
    const stdin = readStdin();
    if (command === 'VERSION') {
      let requested: string | undefined;
      try {
        const v = (JSON.parse(stdin) as { cniVersion?: unknown }).cniVersion;
        if (typeof v === 'string') requested = v;
      } catch {
        // VERSION needs no config
      }
      out(JSON.stringify(versionResult(requested)));
      return 0;
    }
    // Errors should speak the caller's version as soon as we know it.
    let raw: Record<string, unknown> | undefined;
    try {
      raw = parseJsonObject(stdin);
      if (isSupportedVersion(raw.cniVersion)) cniVersion = raw.cniVersion;
    } catch {
      raw = undefined;
    }
    const env = parseCniEnv(process.env);
    const net = decodeNetConf(raw ?? parseJsonObject(stdin), { command });
    const ctx: CommandContext = {
      host: new NodeHost(process.env),
      env,
      conf: decodeTortieConf(net, env),
      warn: (message) => process.stderr.write(`tortie: ${message}\n`),
      mark: timing ? (step) => timing.push([step, performance.now(), process.cpuUsage()]) : () => undefined,
    };
    ctx.mark('parse');
    const failAt = failPointFrom(process.env);
    if (failAt !== undefined) ctx.failAt = failAt;

    switch (command) {
      case 'ADD':
        out(JSON.stringify(encodeResult(await cmdAdd(ctx), net.cniVersion)));
        ctx.mark('output');
        return 0;
      case 'DEL':
        await cmdDel(ctx);
        return 0;
      case 'CHECK':
        await cmdCheck(ctx);
        return 0;
      case 'GC':
        await cmdGc(ctx);
        return 0;
      case 'STATUS':
        await cmdStatus(ctx);
        return 0;
    }
  } catch (err) {
    out(JSON.stringify(asCniError(err).toResult(cniVersion)));
    return 1;
  }
}

main().then(
  (code) => {
    printTiming();
    process.exitCode = code;
  },
  (err: unknown) => {
    out(JSON.stringify(asCniError(err).toResult(CURRENT_VERSION)));
    process.exitCode = 1;
  },
);
