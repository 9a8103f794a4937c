/**
 * `ip -o -N monitor route link` as a stream of parsed events, with restart
 * on exit and a signal when events may have been lost.
 *
 * The monitor's netlink socket asks for a 32 MiB receive buffer (`-rc`; the
 * kernel caps it at net.core.rmem_max). With the default 1 MiB, 100k route
 * changes in a row overran it here ("netlink receive error No buffer space
 * available"); ip then carries on, so an overrun is reported as `lost`.
 */
import { type Logger } from '../../lib/log.js';
import type { CommandRunner, RunningCommand } from './command-runner.js';
import { LineSplitter, type MonitorEvent, parseMonitorLine } from './monitor-events.js';

export const MONITOR_RCVBUF_BYTES = 32 * 1024 * 1024;

export interface RouteMonitorOptions {
  runner: CommandRunner;
  netns?: string;
  proto: number;
  log: Logger;
  /** Each parsed event, in order. */
  onEvent: (ev: MonitorEvent) => void;
  /** Events may have been lost (overrun, restart). */
  onLost: (why: string) => void;
  /** Delay before restarting a monitor that exited. Default 1 s. */
  restartMs?: number;
}

export class RouteMonitor {
  private readonly o: RouteMonitorOptions;
  private cmd: RunningCommand | undefined;
  private wanted = false;
  private restartTimer: NodeJS.Timeout | undefined;
  restarts = 0;

  constructor(opts: RouteMonitorOptions) {
    this.o = opts;
  }

  get running(): boolean {
    return this.cmd?.running ?? false;
  }

  start(): void {
    this.wanted = true;
    if (this.cmd?.running) return;
    const splitter = new LineSplitter();
    const errSplitter = new LineSplitter();
    const cmd = this.o.runner.spawn(['ip', '-o', '-N', '-rc', String(MONITOR_RCVBUF_BYTES), 'monitor', 'route', 'link'], {
      netns: this.o.netns,
      onStdout: (chunk) => {
        if (this.cmd !== cmd) return;
        for (const line of splitter.push(chunk)) this.o.onEvent(parseMonitorLine(line, this.o.proto));
      },
      onStderr: (chunk) => {
        if (this.cmd !== cmd) return;
        for (const line of errSplitter.push(chunk)) {
          this.o.log.warn({ stderr: line }, 'ip monitor reported an error; events may be lost');
          this.o.onLost(line);
        }
      },
      onExit: (status) => {
        if (this.cmd !== cmd) return;
        this.cmd = undefined;
        if (!this.wanted) return;
        this.restarts++;
        const delay = this.o.restartMs ?? 1_000;
        this.o.log.warn({ status, restartInMs: delay }, 'ip monitor exited; restarting it');
        this.restartTimer = setTimeout(() => {
          this.restartTimer = undefined;
          if (!this.wanted) return;
          this.start();
          this.o.onLost('ip monitor restarted');
        }, delay);
        this.restartTimer.unref();
      },
    });
    this.cmd = cmd;
  }

  /** Stops the monitor without waiting for it to exit; start() again later. */
  pause(): void {
    this.wanted = false;
    if (this.restartTimer) clearTimeout(this.restartTimer);
    this.restartTimer = undefined;
    const cmd = this.cmd;
    this.cmd = undefined;
    cmd?.kill('SIGTERM');
  }

  /** Stops the monitor (our PID only) and waits for it to exit. */
  async stop(): Promise<void> {
    this.wanted = false;
    if (this.restartTimer) clearTimeout(this.restartTimer);
    this.restartTimer = undefined;
    const cmd = this.cmd;
    this.cmd = undefined;
    if (!cmd?.running) return;
    cmd.kill('SIGTERM');
    const timer = setTimeout(() => cmd.kill('SIGKILL'), 2_000);
    await cmd.exited;
    clearTimeout(timer);
  }
}
