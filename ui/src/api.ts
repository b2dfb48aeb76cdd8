import { forgetToken, storedToken } from './token.ts';

/** A failed call, with a message meant for people (the API's own message when it gave one). */
export class ApiError extends Error {
  constructor(
    /** The HTTP status; 0 when IPoid did not answer at all. */
    readonly status: number,
    message: string,
    /** A refused batch: the entries that are not addresses, and why. */
    readonly invalid: { text: string; reason: string }[] = [],
  ) {
    super(message);
  }
}

type Listener = () => void;
const tokenListeners = new Set<Listener>();

/** Called on every 401: the page asks for a token. */
export function onTokenNeeded(listener: Listener): () => void {
  tokenListeners.add(listener);
  return () => tokenListeners.delete(listener);
}

interface ErrorAnswer {
  message?: string;
  invalid?: string[];
  reasons?: string[];
}

function errorOf(status: number, body: ErrorAnswer | null): ApiError {
  const said = body?.message;
  const invalid = (body?.invalid ?? []).map((text, i) => ({ text, reason: body?.reasons?.[i] ?? 'not an IP address' }));
  if (status === 401) return new ApiError(401, 'IPoid asks for a token: this one was missing or not accepted.');
  if (status === 503) return new ApiError(503, `IPoid is unavailable for now${said ? `: ${said}` : ''}. Try again in a moment.`);
  if (status >= 500) return new ApiError(status, `IPoid failed to answer (${status}). Try again; if it goes on, tell its operators.`);
  return new ApiError(status, said ?? `IPoid answered ${status}.`, invalid);
}

/** A 401: the token is forgotten (unless another was entered meanwhile) and the page asks for one. */
function tokenRefused(sent: string | null): void {
  if (storedToken() === sent) forgetToken();
  for (const listener of tokenListeners) listener();
}

/** One call to IPoid's HTTP API, with the token when there is one. */
export async function call(path: string, init: RequestInit = {}): Promise<Response> {
  const headers = new Headers(init.headers);
  const token = storedToken();
  try {
    if (token) headers.set('authorization', `Bearer ${token}`);
  } catch {
    // Stored before the prompt checked tokens (or by hand): no request can carry it.
    tokenRefused(token);
    throw new ApiError(401, 'The token holds characters an HTTP header cannot carry: enter it again.');
  }
  let response: Response;
  try {
    // Never from the browser's cache: the data changes with each import, and a forgotten token
    // must not leave answers readable from the cache.
    response = await fetch(path, { ...init, headers, cache: 'no-store' });
  } catch {
    throw new ApiError(0, 'IPoid did not answer: the network or the server is down.');
  }
  if (response.ok) return response;
  const body = (await response.json().catch(() => null)) as ErrorAnswer | null;
  if (response.status === 401) tokenRefused(token);
  throw errorOf(response.status, body);
}

/** An answer's body, read whole; a connection lost on the way is IPoid's failure, not the console's. */
export async function bodyOf<T>(answer: Promise<T>): Promise<T> {
  try {
    return await answer;
  } catch (err) {
    if (err instanceof ApiError) throw err;
    throw new ApiError(0, 'IPoid stopped answering part-way through: try again.');
  }
}

export async function getJson<T>(path: string): Promise<T> {
  const response = await call(path, { headers: { accept: 'application/json' } });
  return bodyOf(response.json() as Promise<T>);
}

export async function postJson<T>(path: string, body: unknown): Promise<T> {
  const response = await call(path, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  return bodyOf(response.json() as Promise<T>);
}

/** `path` with the query's non-empty values (a name given as pairs may repeat). */
export function withQuery(path: string, query: Record<string, string | undefined> | [string, string | undefined][]): string {
  const params = new URLSearchParams();
  for (const [name, value] of Array.isArray(query) ? query : Object.entries(query)) if (value) params.append(name, value);
  const text = params.toString();
  return text ? `${path}?${text}` : path;
}
