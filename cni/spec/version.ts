/**
 * CNI spec versions: which ones we speak, how they compare, and which
 * commands each one has (CHECK from 0.4.0, GC and STATUS from 1.1.0).
 */
import { CniError, CniErrorCode } from './errors.js';

/** Versions tortie's plugins accept and can produce results for, oldest first. */
export const SUPPORTED_VERSIONS = ['0.3.1', '0.4.0', '1.0.0', '1.1.0'] as const;
export type CniVersion = (typeof SUPPORTED_VERSIONS)[number];

/** The newest version we speak: used for errors when the caller's version is unknown. */
export const CURRENT_VERSION: CniVersion = '1.1.0';

export type CniCommand = 'ADD' | 'DEL' | 'CHECK' | 'VERSION' | 'GC' | 'STATUS';
export const CNI_COMMANDS: readonly CniCommand[] = ['ADD', 'DEL', 'CHECK', 'VERSION', 'GC', 'STATUS'];

export function isSupportedVersion(v: unknown): v is CniVersion {
  return typeof v === 'string' && (SUPPORTED_VERSIONS as readonly string[]).includes(v);
}

/** Parses "major.minor.patch" (no pre-release); undefined when it is not one. */
export function parseVersion(v: string): [number, number, number] | undefined {
  const m = /^(0|[1-9]\d{0,5})\.(0|[1-9]\d{0,5})\.(0|[1-9]\d{0,5})$/.exec(v);
  if (!m) return undefined;
  return [Number(m[1]), Number(m[2]), Number(m[3])];
}

/** Numeric semver order of two "x.y.z" strings (negative, 0, positive). Throws on garbage. */
export function compareVersions(a: string, b: string): number {
  const pa = parseVersion(a);
  const pb = parseVersion(b);
  if (!pa || !pb) throw new CniError(CniErrorCode.IncompatibleVersion, `not a CNI version: ${pa ? b : a}`);
  for (let i = 0; i < 3; i++) {
    const d = pa[i] - pb[i];
    if (d !== 0) return d;
  }
  return 0;
}

/** The oldest spec version that defines `command`. */
export function commandSince(command: CniCommand): CniVersion {
  switch (command) {
    case 'CHECK':
      return '0.4.0';
    case 'GC':
    case 'STATUS':
      return '1.1.0';
    case 'ADD':
    case 'DEL':
    case 'VERSION':
      return '0.3.1';
  }
}

/** True when `version` (a supported one) defines `command`. */
export function commandSupported(command: CniCommand, version: CniVersion): boolean {
  return compareVersions(version, commandSince(command)) >= 0;
}

/**
 * Checks a config's cniVersion: it must be a string we support, and it must
 * define the command being run. Errors carry code 1 (incompatible version).
 */
export function requireVersion(cniVersion: unknown, command?: CniCommand): CniVersion {
  if (cniVersion === undefined) {
    throw new CniError(CniErrorCode.InvalidNetworkConfig, 'cniVersion is required', 'field: cniVersion');
  }
  if (typeof cniVersion !== 'string') {
    throw new CniError(CniErrorCode.InvalidNetworkConfig, 'cniVersion must be a string', 'field: cniVersion');
  }
  if (!isSupportedVersion(cniVersion)) {
    throw new CniError(
      CniErrorCode.IncompatibleVersion,
      `incompatible CNI version ${JSON.stringify(cniVersion)}`,
      `supported versions: ${SUPPORTED_VERSIONS.join(', ')}`,
    );
  }
  if (command !== undefined && !commandSupported(command, cniVersion)) {
    throw new CniError(
      CniErrorCode.IncompatibleVersion,
      `${command} is not defined in CNI ${cniVersion}`,
      `${command} needs cniVersion ${commandSince(command)} or later`,
    );
  }
  return cniVersion;
}

/** The VERSION result. */
export interface VersionResult {
  cniVersion: string;
  supportedVersions: string[];
}

/**
 * What a plugin prints for VERSION: the caller's cniVersion when we speak it
 * (the spec lets the runtime send one on stdin), else our newest.
 */
export function versionResult(requested?: string, supported: readonly string[] = SUPPORTED_VERSIONS): VersionResult {
  const cniVersion = requested !== undefined && supported.includes(requested) ? requested : CURRENT_VERSION;
  return { cniVersion, supportedVersions: [...supported] };
}

/** Decodes a delegate's VERSION output; undefined when it is not one. */
export function decodeVersionResult(value: unknown): VersionResult | undefined {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return undefined;
  const v = value as Record<string, unknown>;
  if (typeof v.cniVersion !== 'string' || !Array.isArray(v.supportedVersions)) return undefined;
  const supportedVersions = v.supportedVersions.filter((s): s is string => typeof s === 'string');
  return { cniVersion: v.cniVersion, supportedVersions };
}
