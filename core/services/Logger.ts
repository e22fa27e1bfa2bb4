export type LogLevel = 'debug' | 'info' | 'warn' | 'error';

/** Structured logger handed to nodes and services. */
export interface Logger {
  debug(message: string, fields?: Record<string, unknown>): void;
  info(message: string, fields?: Record<string, unknown>): void;
  warn(message: string, fields?: Record<string, unknown>): void;
  error(message: string, fields?: Record<string, unknown>): void;
}

export const LOG_LEVELS: readonly LogLevel[] = ['debug', 'info', 'warn', 'error'];

/** A logger that hands every record at or above `level` to `sink`. */
export function createLogger(
  sink: (level: LogLevel, message: string, fields?: Record<string, unknown>) => void,
  level: LogLevel = 'info',
): Logger {
  const min = LOG_LEVELS.indexOf(level);
  const at = (l: LogLevel) => (message: string, fields?: Record<string, unknown>) => {
    if (LOG_LEVELS.indexOf(l) >= min) sink(l, message, fields);
  };
  return { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') };
}

/** Writes `level message {fields}` lines to stderr; the default engine logger. */
export function createConsoleLogger(level: LogLevel = 'warn'): Logger {
  return createLogger((l, message, fields) => {
    process.stderr.write(`${l} ${message}${fields ? ' ' + JSON.stringify(fields) : ''}\n`);
  }, level);
}
