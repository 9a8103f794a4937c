/**
 * Inputs that once crashed or broke the codec, found by fuzz.test.ts or by
 * hand. Each must now decode or fail with a BgpError, and re-encode cleanly.
 */
export const FUZZ_CRASHERS: { hex: string; found: string }[] = [
  // 32-bit shift wrap: a /32 prefix was encoded as 0.0.0.0 (found by the
  // round-trip vectors, kept here so the fuzzer's fixed-point check covers it).
  { hex: 'ffffffffffffffffffffffffffffffff00300200000014400101004002060201 0000fde9400304c000020120c6336401', found: '2026-11-22 vectors' },
];
