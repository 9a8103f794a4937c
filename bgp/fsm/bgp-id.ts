/**
 * BGP Identifiers (RFC 4271 §4.2, RFC 6286): four octets, written as a dotted
 * quad, compared as unsigned 32-bit integers.
 */

/** The identifier as an unsigned 32-bit number, or undefined if it is not a dotted quad. */
export function parseBgpId(id: string): number | undefined {
  const parts = id.split('.');
  if (parts.length !== 4) return undefined;
  let value = 0;
  for (const part of parts) {
    if (!/^(0|[1-9][0-9]{0,2})$/.test(part)) return undefined;
    const octet = Number(part);
    if (octet > 255) return undefined;
    value = value * 256 + octet;
  }
  return value;
}
