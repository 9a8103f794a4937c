/**
 * The logging interface every component takes. It matches bunyan's
 * `(fields, message)` call shape so the agent can pass a bunyan logger;
 * tests and libraries use `silentLogger` or `memoryLogger`.
 */
export type LogFields = Record<string, unknown>;

export interface Logger {
  debug(fields: LogFields, msg: string): void;
  info(fields: LogFields, msg: string): void;
  warn(fields: LogFields, msg: string): void;
  error(fields: LogFields, msg: string): void;
  child(fields: LogFields): Logger;
}

const noop = (): void => undefined;

export const silentLogger: Logger = {
  debug: noop,
  info: noop,
  warn: noop,
  error: noop,
  child: () => silentLogger,
};

export interface LogRecord extends LogFields {
  level: 'debug' | 'info' | 'warn' | 'error';
  msg: string;
}

/** Keeps records in memory, for tests that assert on what was logged. */
export function memoryLogger(records: LogRecord[] = [], base: LogFields = {}): Logger & { records: LogRecord[] } {
  const at = (level: LogRecord['level']) => (fields: LogFields, msg: string): void => {
    records.push({ ...base, ...fields, level, msg });
  };
  return {
    records,
    debug: at('debug'),
    info: at('info'),
    warn: at('warn'),
    error: at('error'),
    child: (fields) => memoryLogger(records, { ...base, ...fields }),
  };
}
