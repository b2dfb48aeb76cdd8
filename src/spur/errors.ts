import { IpoidError } from '../errors.ts';

/** Spur refused the token (401/403): retrying cannot help, the token must be fixed. */
export class SpurAuthError extends IpoidError {
  constructor(message: string) {
    super('SPUR_AUTH', message);
  }
}

/** Spur answered with a status the protocol does not expect at that step. */
export class SpurHttpError extends IpoidError {
  constructor(
    message: string,
    readonly status: number,
    /** How long the server asked to wait before another try (Retry-After), when it did. */
    readonly retryAfterMs?: number,
  ) {
    super('SPUR_HTTP', message);
  }
}

/** The download ended early, stalled, or is not a whole gzip file. */
export class IncompleteDownloadError extends IpoidError {
  constructor(message: string, options?: ErrorOptions) {
    super('DOWNLOAD_INCOMPLETE', message, options);
  }
}

/** The whole file came, but it is not a gzip stream that decompresses to its end: trying again brings the same bytes. */
export class CorruptFileError extends IncompleteDownloadError {}

/** An error's message with its cause's: fetch says only "fetch failed" or "terminated" on its own. */
export function withCause(err: unknown): string {
  const { message, cause } = err as Error;
  return cause instanceof Error ? `${message} (${cause.message})` : message;
}

/** Local file-system failures: the download directory is full, missing or not writable. */
const DISK_ERROR_CODES = new Set(['ENOSPC', 'EDQUOT', 'EACCES', 'EPERM', 'EROFS', 'ENOENT', 'ENOTDIR', 'EISDIR']);

export function isDiskError(err: unknown): err is NodeJS.ErrnoException {
  return DISK_ERROR_CODES.has((err as NodeJS.ErrnoException | null)?.code ?? '');
}
