/** What every command gets: the effects, the validated environment, the decoded config. */
import type { CniEnv } from './spec/index.js';
import type { FailPoint } from './fail-points.js';
import type { Host } from './host.js';
import type { IpamCall } from './ipam-exec.js';
import type { TortieConf } from './plugin-config.js';

export interface CommandContext {
  host: Host;
  env: CniEnv;
  conf: TortieConf;
  /** Test-only failure injection (fail-points.ts). */
  failAt?: FailPoint;
  /** Warnings for stderr (the result on stdout stays clean). */
  warn: (message: string) => void;
  /** Marks a step for TORTIE_CNI_TIMING=1 (wall and own CPU per step on stderr); a no-op otherwise. */
  mark: (step: string) => void;
}

export function ipamCall(ctx: CommandContext): IpamCall {
  return { host: ctx.host, env: ctx.env, conf: ctx.conf };
}
