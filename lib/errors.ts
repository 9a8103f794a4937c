/**
 * The one base error class of tortie. Every error we raise carries a stable
 * machine-readable `code` (tests assert on it, never on message text) and,
 * where it wraps another failure, a `cause`.
 */
export class TortieError extends Error {
  readonly code: string;

  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'TortieError';
    this.code = code;
  }
}

/** True when `err` is a TortieError with the given code. */
export function hasCode(err: unknown, code: string): boolean {
  return err instanceof TortieError && err.code === code;
}
