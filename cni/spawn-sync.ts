/**
 * Running a program to completion, as cheaply as Node allows.
 *
 * A CNI invocation is a short-lived process, and on a busy node its CPU
 * cost limits pods per second. Loading node:child_process costs about 7 ms
 * of CPU: it pulls in net, stream and dgram, for one spawnSync. Node's own
 * spawnSync is a thin wrapper over the internal `spawn_sync` binding, so we
 * call that binding directly, which loads nothing. The options object is
 * the one lib/child_process.js builds for it: file, args including argv0,
 * envPairs, per-fd stdio descriptors with stdin's `input`, timeout,
 * maxBuffer and a numeric killSignal.
 *
 * The binding is internal. It is reached through the deprecated
 * process.binding(), which warns only under --pending-deprecation. So it is
 * feature-checked once, and anything unexpected falls back to the public
 * child_process.spawnSync, loaded lazily through process.getBuiltinModule.
 * TORTIE_CNI_SPAWN=child_process forces the public path. cni/spawn-sync.test.ts
 * runs both paths over the same cases.
 */

export interface SyncOptions {
  input: string;
  env: Readonly<Record<string, string | undefined>>;
  timeoutMs: number;
  maxBuffer: number;
}

export interface SyncRun {
  /** Exit status; null when killed by a signal or never started. */
  status: number | null;
  signal: string | null;
  stdout: string;
  stderr: string;
  /** errno name (ENOENT, ETIMEDOUT, EPIPE, ENOBUFS...) when the run failed as a whole. */
  errorCode?: string;
}

export type SyncSpawner = (file: string, args: readonly string[], opts: SyncOptions) => SyncRun;

interface BindingResult {
  status?: number | null;
  signal?: string | null;
  output?: (Uint8Array | null)[] | null;
  error?: number;
}

interface SpawnSyncBinding {
  spawn(options: Record<string, unknown>): BindingResult;
}

const SIGKILL = 9;

function envPairs(env: Readonly<Record<string, string | undefined>>): string[] {
  const out: string[] = [];
  for (const [k, v] of Object.entries(env)) if (v !== undefined) out.push(`${k}=${v}`);
  return out;
}

function text(b: Uint8Array | null | undefined): string {
  return b ? Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('utf8') : '';
}

/** The internal binding, or undefined when this Node does not offer it in the expected shape. */
export function bindingSpawner(): SyncSpawner | undefined {
  let binding: SpawnSyncBinding;
  try {
    const getBinding = (process as unknown as { binding?: (name: string) => unknown }).binding;
    if (typeof getBinding !== 'function') return undefined;
    binding = getBinding.call(process, 'spawn_sync') as SpawnSyncBinding;
    if (typeof binding.spawn !== 'function') return undefined;
  } catch {
    return undefined;
  }
  const util = process.getBuiltinModule('node:util');
  return (file, args, opts) => {
    const r = binding.spawn({
      file,
      args: [file, ...args],
      envPairs: envPairs(opts.env),
      stdio: [
        { type: 'pipe', readable: true, writable: false, input: Buffer.from(opts.input, 'utf8') },
        { type: 'pipe', readable: false, writable: true },
        { type: 'pipe', readable: false, writable: true },
      ],
      timeout: opts.timeoutMs,
      maxBuffer: opts.maxBuffer,
      killSignal: SIGKILL,
      windowsHide: false,
      windowsVerbatimArguments: false,
      detached: false,
    });
    const out: SyncRun = {
      status: typeof r.status === 'number' ? r.status : null,
      signal: typeof r.signal === 'string' ? r.signal : null,
      stdout: text(r.output?.[1]),
      stderr: text(r.output?.[2]),
    };
    if (typeof r.error === 'number' && r.error !== 0) out.errorCode = util.getSystemErrorName(r.error);
    return out;
  };
}

/** child_process.spawnSync, loaded on first use. */
export function publicSpawner(): SyncSpawner {
  return (file, args, opts) => {
    const { spawnSync } = process.getBuiltinModule('node:child_process');
    const r = spawnSync(file, args, {
      input: opts.input,
      env: opts.env,
      timeout: opts.timeoutMs,
      killSignal: 'SIGKILL',
      maxBuffer: opts.maxBuffer,
      encoding: 'utf8',
    });
    const out: SyncRun = { status: r.status, signal: r.signal, stdout: r.stdout ?? '', stderr: r.stderr ?? '' };
    const err: NodeJS.ErrnoException | undefined = r.error;
    if (err !== undefined) out.errorCode = err.code ?? 'EUNKNOWN';
    return out;
  };
}

/** The binding unless TORTIE_CNI_SPAWN=child_process or it is unavailable. */
export function defaultSpawner(env: Readonly<Record<string, string | undefined>>): SyncSpawner {
  if (env.TORTIE_CNI_SPAWN === 'child_process') return publicSpawner();
  return bindingSpawner() ?? publicSpawner();
}
