/** The agent's configuration: load and validate, resolve peers, diff for reloads, check from the CLI. */
export * from './schema.js';
export { ConfigInvalidError, ERR_CONFIG_INVALID, formatIssue, formatIssues, type ConfigIssue } from './issues.js';
export {
  loadConfig, loadConfigSync, parseConfigText, readConfigFile, readConfigFileSync, type ConfigEnv, type ConfigResult,
} from './load.js';
export {
  effectivePeers, FAMILY_KEYS, speakerConfig, speakerPeerConfig, type EffectivePeer, type EffectivePeers, type PeerKey, type PeerSource,
} from './peers.js';
export {
  diffConfig, EXPORT_POLICY_CHANGED, IMPORT_POLICY_CHANGED, type ConfigDiff, type PeerChange, type PeerRef,
} from './diff.js';
export { checkConfigFile, type CheckResult } from './check.js';
