/**
 * tortie-ipam's CNI error numbers (120-139, the range cni/spec/errors.ts
 * reserves for it) and how the agent's error codes map onto them. The
 * agent's code travels in `details`, so a runtime log shows both.
 */
import { CniError, CniErrorCode } from '../../cni/spec/index.js';

export const TortieIpamCode = {
  /** No address left: the message names each pool and why (no free block, borrowing disabled). */
  PoolExhausted: 120,
  /** No enabled pool selects this node (or none is configured). */
  NoPool: 121,
  /** A requested address is held by another container. */
  AddressInUse: 122,
  /** A requested address cannot be given: outside every pool, reserved, in a disabled pool or another node's block. */
  AddressRefused: 123,
  /** CHECK: the agent's allocation and prevResult disagree, or the allocation is missing. */
  CheckFailed: 124,
  /** The agent failed in a way none of the above describes. */
  AgentError: 139,
} as const;

const BY_AGENT_CODE: Record<string, number> = {
  ERR_IPAM_POOL_EXHAUSTED: TortieIpamCode.PoolExhausted,
  ERR_IPAM_NO_POOL: TortieIpamCode.NoPool,
  ERR_IPAM_ADDRESS_IN_USE: TortieIpamCode.AddressInUse,
  ERR_IPAM_ADDRESS_NOT_IN_POOL: TortieIpamCode.AddressRefused,
  ERR_IPAM_ADDRESS_RESERVED: TortieIpamCode.AddressRefused,
  ERR_IPAM_POOL_DISABLED: TortieIpamCode.AddressRefused,
  ERR_IPAM_POOL_NOT_FOR_NODE: TortieIpamCode.AddressRefused,
  ERR_IPAM_ADDRESS_AFFINE_ELSEWHERE: TortieIpamCode.AddressRefused,
  ERR_IPAM_BAD_REQUEST: CniErrorCode.InvalidNetworkConfig,
  ERR_IPAM_ANNOTATION_BAD_REQUEST: CniErrorCode.InvalidNetworkConfig,
  ERR_API_BAD_REQUEST: CniErrorCode.InvalidNetworkConfig,
  // Transient: the runtime should try again.
  ERR_IPAM_RETRIES_EXHAUSTED: CniErrorCode.TryAgainLater,
  ERR_IPAM_ANNOTATIONS_UNAVAILABLE: CniErrorCode.TryAgainLater,
  ERR_DATASTORE_UNAVAILABLE: CniErrorCode.TryAgainLater,
  ERR_DATASTORE_CONFLICT: CniErrorCode.TryAgainLater,
};

/** The CNI error for an agent error code; the code itself goes into `details`. */
export function cniErrorFromAgent(agentCode: string, message: string): CniError {
  return new CniError(BY_AGENT_CODE[agentCode] ?? TortieIpamCode.AgentError, message, agentCode);
}
