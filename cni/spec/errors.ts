/**
 * CNI error results: the spec's well-known error codes, the codes tortie's
 * plugins use above 100, and one error class that carries both a CNI code
 * (for the wire) and a stable tortie string code (for tests and logs).
 *
 * Wire form (CNI spec, "Error"): `{ cniVersion, code, msg, details? }`,
 * printed on stdout with a non-zero exit status.
 */
import { TortieError } from '../../lib/errors.js';

/**
 * CNI error codes. 1-99 are reserved by the spec ("Well-known Error Codes");
 * 100 and above belong to the plugin. tortie's two plugins share this one
 * table so that their numbers never collide: 100-119 the tortie plugin,
 * 120-139 tortie-ipam.
 */
export const CniErrorCode = {
  /** 1: the config's cniVersion is not one this plugin speaks. */
  IncompatibleVersion: 1,
  /** 2: a field of the network config is not supported; `details` names it. */
  UnsupportedField: 2,
  /** 3: the container (its netns) does not exist; the runtime need not clean up. */
  UnknownContainer: 3,
  /** 4: a required CNI_* environment variable is missing or invalid; `details` names it. */
  InvalidEnvironmentVariables: 4,
  /** 5: an I/O failure (reading stdin, writing a file...). */
  IoFailure: 5,
  /** 6: the content (stdin, prevResult, a delegate's output) could not be decoded. */
  DecodingFailure: 6,
  /** 7: the network config is invalid. */
  InvalidNetworkConfig: 7,
  /** 11: a transient failure; the runtime should retry later. */
  TryAgainLater: 11,
  /** 50 (STATUS): the plugin cannot serve ADD requests. */
  PluginNotAvailable: 50,
  /** 51 (STATUS): the plugin can serve ADDs, but pods will get limited connectivity. */
  LimitedConnectivity: 51,

  // ---- tortie (routed-veth plugin): 100-119
  /** The IPAM plugin failed without a CNI error of its own (crash, no/garbled output, no address). */
  IpamFailed: 100,
  /** The IPAM plugin named by `ipam.type` is not in any CNI_PATH directory. */
  IpamNotFound: 101,
  /** CNI_IFNAME (or the host veth name) already exists and is not ours to replace. */
  InterfaceExists: 102,
  /** An `ip` batch (or a sysctl write) failed while wiring the pod. */
  KernelFailed: 103,
  /** CHECK found that the pod's wiring differs from prevResult; `details` lists every difference. */
  CheckFailed: 104,
  /** Test-only failure injection (TORTIE_CNI_FAIL_AT) fired. */
  InjectedFailure: 105,
  /** The agent enforces NetworkPolicy but refused to take the pod's attachment. */
  PolicyFailed: 106,

  // ---- tortie-ipam: 120-139 (defined by ipam/)

  /** Anything unexpected; the same number libcni uses for its internal error. */
  Internal: 999,
} as const;

export type CniErrorCodeName = keyof typeof CniErrorCode;
export type CniErrorCodeValue = (typeof CniErrorCode)[CniErrorCodeName];

/** The JSON a plugin prints on failure. */
export interface CniErrorResult {
  cniVersion: string;
  code: number;
  msg: string;
  details?: string;
}

const NAME_BY_CODE = new Map<number, string>(Object.entries(CniErrorCode).map(([name, code]) => [code, name]));

/** `ERR_CNI_INVALID_NETWORK_CONFIG` for 7, `ERR_CNI_CODE_123` for an unnamed code. */
export function tortieCodeFor(cniCode: number): string {
  const name = NAME_BY_CODE.get(cniCode);
  if (name === undefined) return `ERR_CNI_CODE_${cniCode}`;
  return `ERR_CNI_${name.replace(/([a-z0-9])([A-Z])/g, '$1_$2').toUpperCase()}`;
}

/**
 * A CNI failure. `cniCode` is the number on the wire, `code` the stable
 * tortie string derived from it, `details` the optional wire `details`.
 */
export class CniError extends TortieError {
  readonly cniCode: number;
  readonly details: string | undefined;

  constructor(cniCode: number, msg: string, details?: string, options?: { cause?: unknown }) {
    super(tortieCodeFor(cniCode), msg, options);
    this.name = 'CniError';
    this.cniCode = cniCode;
    this.details = details;
  }

  /** The wire form, stamped with the given cniVersion. */
  toResult(cniVersion: string): CniErrorResult {
    const out: CniErrorResult = { cniVersion, code: this.cniCode, msg: this.message };
    if (this.details !== undefined && this.details !== '') out.details = this.details;
    return out;
  }

  /** Rebuilds an error from a delegate's (e.g. an IPAM plugin's) wire error. */
  static fromResult(result: CniErrorResult, msgPrefix = ''): CniError {
    return new CniError(result.code, `${msgPrefix}${result.msg}`, result.details);
  }
}

/** True when `value` has the shape of a CNI error result (`code` number, `msg` string). */
export function isCniErrorResult(value: unknown): value is CniErrorResult {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  const v = value as Record<string, unknown>;
  return typeof v.code === 'number' && Number.isInteger(v.code) && typeof v.msg === 'string' &&
    (v.details === undefined || typeof v.details === 'string');
}

/** Any thrown value as a CniError: CniErrors pass through, everything else becomes Internal (999). */
export function asCniError(err: unknown): CniError {
  if (err instanceof CniError) return err;
  const msg = err instanceof Error ? err.message : String(err);
  return new CniError(CniErrorCode.Internal, msg, undefined, { cause: err });
}
