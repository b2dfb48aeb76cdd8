/*
 * IPoid's errors: each has a stable `code`, and what an answer or an exit status says about
 * it is decided here, by code, in two tables: the HTTP API and the CLI never test classes.
 * The classes live beside the code that throws them (an invalid IP with the IP parser).
 */

export const ERROR_CODES = [
  'BAD_INPUT',
  'INVALID_IP',
  'INVALID_CURSOR',
  'NOT_FOUND',
  'NOT_ACCEPTABLE',
  'EXPORT_TOO_LARGE',
  'STORE_UNAVAILABLE',
  'READ_ONLY_STORE',
  'IMPORT_LOCKED',
  'IMPORT_FAILED',
  'IMPORT_REFUSED',
  'FEED_UNREADABLE',
  'SPUR_AUTH',
  'SPUR_HTTP',
  'DOWNLOAD_INCOMPLETE',
] as const;
export type ErrorCode = (typeof ERROR_CODES)[number];

export class IpoidError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** An entry of a batch that is not valid, and why. */
export interface InvalidEntry {
  text: string;
  reason: string;
}

/** Input the user or client got wrong; `invalid` lists the offending entries of a batch. */
export class InputError extends IpoidError {
  constructor(
    message: string,
    readonly invalid?: InvalidEntry[],
  ) {
    super('BAD_INPUT', message);
  }
}

/** The client accepts no format the answer comes in. */
export class NotAcceptableError extends IpoidError {
  constructor(message: string) {
    super('NOT_ACCEPTABLE', message);
  }
}

/** What was asked for is not in the data. */
export class NotFoundError extends IpoidError {
  constructor(message: string) {
    super('NOT_FOUND', message);
  }
}

/** Exit statuses, documented in the README so scripts and CronJobs can tell outcomes apart. */
export const EXIT = { ok: 0, failed: 1, badInput: 2, locked: 3, auth: 4, refused: 5 } as const;

const HTTP_STATUS: Record<ErrorCode, number> = {
  BAD_INPUT: 400,
  INVALID_IP: 400,
  INVALID_CURSOR: 400,
  NOT_FOUND: 404,
  NOT_ACCEPTABLE: 406,
  EXPORT_TOO_LARGE: 413,
  STORE_UNAVAILABLE: 503,
  // The API never imports or downloads: these reaching it are bugs.
  READ_ONLY_STORE: 500,
  IMPORT_LOCKED: 500,
  IMPORT_FAILED: 500,
  IMPORT_REFUSED: 500,
  FEED_UNREADABLE: 500,
  SPUR_AUTH: 500,
  SPUR_HTTP: 500,
  DOWNLOAD_INCOMPLETE: 500,
};

const EXIT_STATUS: Record<ErrorCode, number> = {
  BAD_INPUT: EXIT.badInput,
  INVALID_IP: EXIT.badInput,
  INVALID_CURSOR: EXIT.badInput,
  NOT_FOUND: EXIT.failed,
  NOT_ACCEPTABLE: EXIT.badInput,
  // Narrow the filters or raise the limit.
  EXPORT_TOO_LARGE: EXIT.badInput,
  STORE_UNAVAILABLE: EXIT.failed,
  READ_ONLY_STORE: EXIT.failed,
  IMPORT_LOCKED: EXIT.locked,
  IMPORT_FAILED: EXIT.failed,
  // The change limit stopped it: look at the file, then force it.
  IMPORT_REFUSED: EXIT.refused,
  FEED_UNREADABLE: EXIT.failed,
  // Fix the secret: retrying will not help.
  SPUR_AUTH: EXIT.auth,
  SPUR_HTTP: EXIT.failed,
  DOWNLOAD_INCOMPLETE: EXIT.failed,
};

/** The HTTP status answering an error; any error that is not IPoid's is a 500. */
export function httpStatus(err: unknown): number {
  return err instanceof IpoidError ? HTTP_STATUS[err.code] : 500;
}

/** The exit status of a command that failed with this error. */
export function exitStatus(err: unknown): number {
  return err instanceof IpoidError ? EXIT_STATUS[err.code] : EXIT.failed;
}
