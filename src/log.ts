import { pino, type Logger } from 'pino';

export type { Logger };

/**
 * Structured JSON logs on stderr, so stdout stays free for command output (JSON lines of
 * `lookup`/`list`). Secrets never reach a log line: database URLs are logged redacted.
 */
export function createLogger(level = process.env.IPOID_LOG_LEVEL ?? 'info'): Logger {
  return pino({ level, base: { service: 'ipoid' } }, pino.destination({ fd: 2, sync: true }));
}

/** A URL without its password, for logs and messages. */
export function redactUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = '***';
    return parsed.toString();
  } catch {
    return url.replace(/:[^:@/]*@/, ':***@');
  }
}
