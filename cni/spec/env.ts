/**
 * The CNI environment: CNI_COMMAND, CNI_CONTAINERID, CNI_NETNS, CNI_IFNAME,
 * CNI_ARGS and CNI_PATH, validated per command as the spec requires them
 * ("Parameters" in the CNI spec), and the Kubernetes identity that runtimes
 * pass in CNI_ARGS (K8S_POD_NAMESPACE, K8S_POD_NAME,
 * K8S_POD_INFRA_CONTAINER_ID, K8S_POD_UID).
 *
 * Every failure is a CniError with code 4 (invalid necessary environment
 * variables) whose `details` names the variable.
 */
import { CniError, CniErrorCode } from './errors.js';
import { CNI_COMMANDS, type CniCommand } from './version.js';

/** The process environment as a plain map (process.env fits). */
export type EnvMap = Readonly<Record<string, string | undefined>>;

export interface K8sIdentity {
  namespace?: string;
  podName?: string;
  infraContainerId?: string;
  podUid?: string;
}

export interface CniEnv {
  command: CniCommand;
  /** Required for ADD, DEL and CHECK. */
  containerId?: string;
  /** Path of the container's netns (e.g. /var/run/netns/x, /proc/123/ns/net). Required for ADD and CHECK. */
  netns?: string;
  /** Interface name inside the container. Required for ADD, DEL and CHECK. */
  ifname?: string;
  /** CNI_ARGS as key → value (later duplicates win). */
  args: Record<string, string>;
  /** CNI_ARGS as given, '' when unset. */
  argsRaw: string;
  /** CNI_PATH split on ':' with empty entries removed. Required for all commands but VERSION. */
  path: string[];
  /** From CNI_ARGS; empty when the runtime is not Kubernetes. */
  k8s: K8sIdentity;
}

/** Which variables each command needs (CNI spec 1.1, "Parameters"). */
const REQUIRED: Record<CniCommand, readonly string[]> = {
  ADD: ['CNI_CONTAINERID', 'CNI_NETNS', 'CNI_IFNAME', 'CNI_PATH'],
  CHECK: ['CNI_CONTAINERID', 'CNI_NETNS', 'CNI_IFNAME', 'CNI_PATH'],
  DEL: ['CNI_CONTAINERID', 'CNI_IFNAME', 'CNI_PATH'],
  GC: ['CNI_PATH'],
  STATUS: ['CNI_PATH'],
  VERSION: [],
};

function invalid(variable: string, msg: string): CniError {
  return new CniError(CniErrorCode.InvalidEnvironmentVariables, msg, `invalid variables: ${variable}`);
}

/** Container IDs: an alphanumeric first character, then alphanumerics, '_', '.' or '-' (spec). */
export const CONTAINER_ID_RE = /^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/;

/** Why `name` is not a valid interface name, or undefined when it is (the rules libcni applies). */
export function interfaceNameProblem(name: string): string | undefined {
  if (name === '') return 'is empty';
  if (name.length > 15) return `is longer than 15 characters (${name.length})`;
  if (name === '.' || name === '..') return `may not be ${JSON.stringify(name)}`;
  if (/[/:\s]/.test(name)) return "may not contain '/', ':' or whitespace";
  return undefined;
}

/**
 * Parses CNI_ARGS ("K1=V1;K2=V2"). Empty segments are ignored; a segment
 * without '=' or with an empty key is an error.
 */
export function parseCniArgs(raw: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const segment of raw.split(';')) {
    if (segment === '') continue;
    const eq = segment.indexOf('=');
    if (eq <= 0) throw invalid('CNI_ARGS', `CNI_ARGS has a malformed pair ${JSON.stringify(segment)} (want KEY=VALUE)`);
    out[segment.slice(0, eq)] = segment.slice(eq + 1);
  }
  return out;
}

/** The Kubernetes identity in parsed CNI_ARGS (or `args.cni` of a config); empty values count as absent. */
export function k8sIdentityFrom(args: Readonly<Record<string, unknown>>): K8sIdentity {
  const pick = (key: string): string | undefined => {
    const v = args[key];
    return typeof v === 'string' && v !== '' ? v : undefined;
  };
  const id: K8sIdentity = {};
  const namespace = pick('K8S_POD_NAMESPACE');
  const podName = pick('K8S_POD_NAME');
  const infraContainerId = pick('K8S_POD_INFRA_CONTAINER_ID');
  const podUid = pick('K8S_POD_UID');
  if (namespace !== undefined) id.namespace = namespace;
  if (podName !== undefined) id.podName = podName;
  if (infraContainerId !== undefined) id.infraContainerId = infraContainerId;
  if (podUid !== undefined) id.podUid = podUid;
  return id;
}

/** CNI_COMMAND alone (VERSION needs nothing else). */
export function parseCniCommand(env: EnvMap): CniCommand {
  const raw = env.CNI_COMMAND;
  if (raw === undefined || raw === '') throw invalid('CNI_COMMAND', 'CNI_COMMAND is not set');
  if (!(CNI_COMMANDS as readonly string[]).includes(raw)) {
    throw invalid('CNI_COMMAND', `CNI_COMMAND has an unknown value ${JSON.stringify(raw)}`);
  }
  return raw as CniCommand;
}

/**
 * Parses and validates the CNI environment for its command. Variables the
 * command does not need are still validated when present (a DEL with a
 * malformed CNI_IFNAME is an error), except that an empty CNI_NETNS on DEL
 * means "no netns".
 */
export function parseCniEnv(env: EnvMap): CniEnv {
  const command = parseCniCommand(env);
  const required = REQUIRED[command];
  const missing = required.filter((v) => env[v] === undefined || env[v] === '');
  if (missing.length > 0) {
    throw new CniError(
      CniErrorCode.InvalidEnvironmentVariables,
      `${command} needs ${missing.join(', ')}`,
      `missing variables: ${missing.join(', ')}`,
    );
  }
  const out: CniEnv = { command, args: {}, argsRaw: '', path: [], k8s: {} };

  const containerId = env.CNI_CONTAINERID;
  if (containerId !== undefined && containerId !== '') {
    if (!CONTAINER_ID_RE.test(containerId)) {
      throw invalid('CNI_CONTAINERID', `CNI_CONTAINERID ${JSON.stringify(containerId)} must start with a letter or digit and hold only letters, digits, '_', '.' and '-'`);
    }
    out.containerId = containerId;
  }

  const netns = env.CNI_NETNS;
  if (netns !== undefined && netns !== '') {
    if (!netns.startsWith('/')) throw invalid('CNI_NETNS', `CNI_NETNS must be an absolute path, got ${JSON.stringify(netns)}`);
    if (netns.includes('\0') || /\s/.test(netns)) throw invalid('CNI_NETNS', 'CNI_NETNS may not contain whitespace or NUL');
    out.netns = netns;
  }

  const ifname = env.CNI_IFNAME;
  if (ifname !== undefined && (ifname !== '' || required.includes('CNI_IFNAME'))) {
    const problem = interfaceNameProblem(ifname);
    if (problem !== undefined) throw invalid('CNI_IFNAME', `CNI_IFNAME ${JSON.stringify(ifname)} ${problem}`);
    out.ifname = ifname;
  }

  const argsRaw = env.CNI_ARGS ?? '';
  out.argsRaw = argsRaw;
  out.args = parseCniArgs(argsRaw);
  out.k8s = k8sIdentityFrom(out.args);

  out.path = (env.CNI_PATH ?? '').split(':').filter((p) => p !== '');
  if (required.includes('CNI_PATH') && out.path.length === 0) {
    throw invalid('CNI_PATH', 'CNI_PATH names no directory');
  }
  return out;
}

/** The spec's environment for a delegate (e.g. IPAM) is ours with CNI_COMMAND possibly changed. */
export function delegateEnv(env: EnvMap, command: CniCommand): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(env)) if (v !== undefined) out[k] = v;
  out.CNI_COMMAND = command;
  return out;
}
