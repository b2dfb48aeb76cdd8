import { STATUS_CODES, type IncomingMessage, type Server, type ServerOptions, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { ConnectionError, FastifyReply, FastifyRequest } from 'fastify';
import { errorBody, quoted } from './errors.ts';

/*
 * What Node's HTTP server decides before fastify routes a request: limits, timeouts, and the
 * requests it refuses. Node answers those with an empty body, or not at all; here every one
 * answers in the API's one error shape.
 */

/** The request line and headers together: a longer URL answers 431, as a longer header does. */
export const MAX_HEADER_BYTES = 16 * 1024;

/** Node's server options: the header limit, and the request timeout enforced on headers too. */
export function httpOptions(requestTimeoutMs: number): ServerOptions {
  return {
    maxHeaderSize: MAX_HEADER_BYTES,
    requestTimeout: requestTimeoutMs,
    headersTimeout: requestTimeoutMs,
    // Node looks for expired requests every 30 s by default, far too late for a 10 s timeout.
    connectionsCheckingInterval: Math.max(10, Math.ceil(requestTimeoutMs / 10)),
    // `requireHost` answers this one in JSON.
    requireHostHeader: false,
  };
}

// Browsers must not sniff an answer into a type it does not declare (an address or a feed value
// read as HTML or script): every answer carries this, whichever path writes it.
const NOSNIFF = { 'x-content-type-options': 'nosniff' } as const;
const NOSNIFF_HEADERS = new Map(Object.entries(NOSNIFF));

/** Adds NOSNIFF to every answer the server's request handlers (fastify's included) write. */
export function noSniff(server: Server): void {
  server.prependListener('request', (_request: IncomingMessage, response: ServerResponse) => {
    response.setHeaders(NOSNIFF_HEADERS);
  });
}

/** An error answer written straight to the socket, which then closes. */
function rawAnswer(status: number, message: string): string {
  const body = JSON.stringify(errorBody(status, message));
  const head = [
    `HTTP/1.1 ${status} ${STATUS_CODES[status]}`,
    'Content-Type: application/json; charset=utf-8',
    ...Object.entries(NOSNIFF).map(([name, value]) => `${name}: ${value}`),
    `Content-Length: ${Buffer.byteLength(body)}`,
    'Connection: close',
  ];
  return `${head.join('\r\n')}\r\n\r\n${body}`;
}

function refusal(error: ConnectionError & { reason?: string }, requestTimeoutMs: number): [status: number, message: string] {
  switch (error.code) {
    case 'ERR_HTTP_REQUEST_TIMEOUT':
      return [408, `the request was not received within ${requestTimeoutMs} ms`];
    case 'HPE_HEADER_OVERFLOW':
      return [431, `the request line and headers exceed ${MAX_HEADER_BYTES} bytes`];
    case 'HPE_CHUNK_EXTENSIONS_OVERFLOW':
      return [413, 'chunk extensions too large'];
    default:
      // llhttp's reason names the broken part, e.g. "Invalid method encountered".
      return [400, `malformed HTTP request: ${error.reason ?? error.code}`];
  }
}

// Node reports the same broken stream again with each chunk that follows.
const refused = new WeakSet<Socket>();

/** Ends the connection, after `answer` when there is one to give. */
function close(socket: Socket, answer?: string): void {
  if (answer !== undefined && socket.writable) socket.end(answer, () => socket.destroy());
  else socket.destroy();
}

/**
 * Answers a request Node could not parse or did not receive in time, then closes the
 * connection. Complete requests before it on the connection are answered first.
 */
export function clientErrorHandler(requestTimeoutMs: number) {
  return (error: ConnectionError, socket: Socket): void => {
    if (refused.has(socket) || socket.destroyed) return;
    refused.add(socket);
    if (!error.code?.startsWith('HPE_') && error.code !== 'ERR_HTTP_REQUEST_TIMEOUT') return close(socket);
    const answer = rawAnswer(...refusal(error, requestTimeoutMs));
    const afterInFlight = (): void => {
      // Node's handle on the answer being written on this connection; the next one once it closes.
      const inFlight = (socket as Socket & { _httpMessage?: ServerResponse | null })._httpMessage;
      if (inFlight?.req.complete) inFlight.once('close', afterInFlight);
      // An answer already under way to the broken request itself cannot be followed by another.
      else close(socket, inFlight?.headersSent ? undefined : answer);
    };
    afterInFlight();
  };
}

/** An onRequest hook: HTTP/1.1 requires a Host header (RFC 9112, section 3.2). */
export function requireHost(request: FastifyRequest, reply: FastifyReply, done: () => void): void {
  if (request.headers.host !== undefined || request.raw.httpVersion !== '1.1') return done();
  reply.code(400).header('connection', 'close').send(errorBody(400, 'an HTTP/1.1 request needs a Host header'));
}

/** Requests Node answers itself unless listened for: an unknown expectation, and CONNECT. */
export function answerUnsupported(server: Server): void {
  server.on('checkExpectation', (request: IncomingMessage, response: ServerResponse) => {
    const body = JSON.stringify(errorBody(417, `unsupported Expect: ${quoted(request.headers.expect ?? '')}; only 100-continue is`));
    // The client holds back its body, so the connection cannot carry another request.
    response.writeHead(417, { 'content-type': 'application/json; charset=utf-8', ...NOSNIFF, connection: 'close' }).end(body);
  });
  server.on('connect', (_request: IncomingMessage, socket: Socket) => {
    socket.end(rawAnswer(405, 'CONNECT is not supported: this is not a proxy'), () => socket.destroy());
  });
}
