import { type DestinationStream, destination, type Level, type Logger, pino, stdTimeFunctions } from 'pino';

export type { Logger } from 'pino';

/**
 * Paths pino censors before a line is written. Secrets reach logs mostly by accident (a config
 * object, a request's headers, an error carrying options), so the net is wide: any key named
 * like a credential one or two levels down, and HTTP authorization headers.
 */
export const REDACT_PATHS: readonly string[] = [
  'password',
  'token',
  'adminToken',
  'bearerToken',
  'authorization',
  'secret',
  '*.password',
  '*.token',
  '*.adminToken',
  '*.bearerToken',
  '*.authorization',
  '*.secret',
  '*.*.password',
  '*.*.adminToken',
  '*.*.bearerToken',
  'headers.authorization',
  'headers.Authorization',
  'req.headers.authorization',
  'req.headers.cookie',
  'request.headers.authorization',
  'res.headers["set-cookie"]',
  'config.director.adminToken',
  'config.regions.*.databases.*.password',
];

export interface LoggerOptions {
  level?: Level | 'silent';
  /** Where lines go; stdout when omitted. Tests pass a stream to capture them. */
  destination?: DestinationStream;
  /** Fields on every line (e.g. the director id). */
  base?: Record<string, unknown>;
}

/** One JSON event per line on stdout, with credentials redacted at the source. */
export function createLogger(options: LoggerOptions = {}): Logger {
  return pino(
    {
      level: options.level ?? 'info',
      base: { ...(options.base ?? {}) },
      timestamp: stdTimeFunctions.isoTime,
      redact: { paths: [...REDACT_PATHS], censor: '[redacted]' },
      formatters: { level: (label) => ({ level: label }) },
    },
    // Synchronous writes: a director logs a few events per state change, and the line about the
    // action in flight must not be lost when the process is killed right after it.
    options.destination ?? destination({ dest: 1, sync: true }),
  );
}

/** A child logger for one module: every line it writes carries `module`. */
export function moduleLogger(parent: Logger, module: string, bindings: Record<string, unknown> = {}): Logger {
  return parent.child({ module, ...bindings });
}

/** A logger that writes nothing, for tests and library callers that pass none. */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
