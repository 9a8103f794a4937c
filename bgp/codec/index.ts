/**
 * The BGP-4 wire codec: pure functions from bytes to typed messages and
 * back. No sockets, no clock, no global state: session facts come in as
 * CodecOptions.
 */
export * from './constants.js';
export * from './types.js';
export { BgpError, BgpEncodeError, type Outcome } from './errors.js';
export { decodeMessage, encodeMessage, encodeMessageInto, keepaliveBytes, maxMessageLen } from './message.js';
export { MessageFramer } from './framer.js';
export { capabilitiesOf, makeOpen } from './open.js';
export { endOfRibFamily } from './update.js';
export { encodeEndOfRib, packUpdates, packWithdrawals } from './pack.js';
export { defaultFlags } from './attr-common.js';
export { attrName } from './attributes.js';
export {
  makeShutdownNotification, shutdownCommunication, carriesShutdownCommunication, SHUTDOWN_COMMUNICATION_MAX,
} from './notification.js';
export { canonicalIpv6, ipv6ToBytes, parseIpv4, ipv4FromUint32 } from './addr.js';
export { formatCommunity, parseCommunity, formatLargeCommunity } from './format.js';
export { fromHex, toHex, Writer } from './writer.js';
