/**
 * IPAM error codes. Tests assert on these; the CNI plugin maps them to CNI
 * error numbers (ipam/plugin/cni-errors.ts); the agent's control API sends
 * them as `code`. Messages name the pool, the address and the reason.
 */
import { TortieError } from '../../lib/errors.js';

export const IpamErrorCode = {
  /** No enabled pool of the family selects this node (or none is configured). */
  NoPool: 'ERR_IPAM_NO_POOL',
  /** Every candidate pool is full for this node; the message says why (no free block, borrowing off). */
  PoolExhausted: 'ERR_IPAM_POOL_EXHAUSTED',
  /** A requested address is held by another handle. */
  AddressInUse: 'ERR_IPAM_ADDRESS_IN_USE',
  /** A requested address lies in no pool. */
  AddressNotInPool: 'ERR_IPAM_ADDRESS_NOT_IN_POOL',
  /** A requested address lies in a reservation. */
  AddressReserved: 'ERR_IPAM_ADDRESS_RESERVED',
  /** A requested address lies in a disabled pool. */
  PoolDisabled: 'ERR_IPAM_POOL_DISABLED',
  /** A requested address lies in a pool whose node selector does not select this node. */
  PoolNotForNode: 'ERR_IPAM_POOL_NOT_FOR_NODE',
  /** A requested address lies in another node's block and strict affinity forbids borrowing it. */
  AffineElsewhere: 'ERR_IPAM_ADDRESS_AFFINE_ELSEWHERE',
  /** The request itself is wrong (bad address text, two addresses of one family, unknown pool name). */
  BadRequest: 'ERR_IPAM_BAD_REQUEST',
  /**
   * The pod's fixed-address annotation (tortie.io/ip-addrs) is malformed:
   * not JSON, not a list of addresses, two of one family. (Ends in
   * _BAD_REQUEST, so the control API answers 400.)
   */
  BadAnnotation: 'ERR_IPAM_ANNOTATION_BAD_REQUEST',
  /** The pod's annotations could not be read (the podAnnotations hook failed): try again. */
  AnnotationsUnavailable: 'ERR_IPAM_ANNOTATIONS_UNAVAILABLE',
  /** Release or lookup of a handle that holds nothing. */
  HandleNotFound: 'ERR_IPAM_HANDLE_NOT_FOUND',
  /** Release of an address that is not allocated. */
  AddressNotFound: 'ERR_IPAM_ADDRESS_NOT_FOUND',
  /** Compare-and-swap kept failing: the bounded retries ran out. */
  RetriesExhausted: 'ERR_IPAM_RETRIES_EXHAUSTED',
  /** A stored block could not be understood. */
  CorruptBlock: 'ERR_IPAM_CORRUPT_BLOCK',
} as const;

export type IpamErrorCodeValue = (typeof IpamErrorCode)[keyof typeof IpamErrorCode];

export function ipamError(code: IpamErrorCodeValue, message: string, cause?: unknown): TortieError {
  return new TortieError(code, message, cause === undefined ? undefined : { cause });
}
