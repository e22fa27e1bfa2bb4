import type { IncomingMessage, ServerResponse } from 'node:http';
import type { ErrorObject } from 'ajv';
import { describeAjvErrors } from '../util/describeAjvErrors.ts';
import { GRAPH_LIMITS } from '../graph/graphLimits.ts';
import { jsonNestingOverflow } from './jsonNesting.ts';
import type { Logger } from '../services/Logger.ts';

/**
 * Deepest nesting of objects/arrays a request body may have: a graph's own limit plus the body
 * object around it (`{"graph": …}`), so a graph within its limit is never refused here.
 */
export const MAX_BODY_DEPTH = GRAPH_LIMITS.depth + 2;

/** Machine-readable error codes of the API (the `error` field of every 4xx/5xx body). */
export type ApiErrorCode =
  | 'bad_request'
  | 'invalid_json'
  | 'invalid_body'
  | 'invalid_graph'
  | 'invalid_sweep'
  | 'unsupported_media_type'
  | 'payload_too_large'
  | 'unauthorized'
  | 'forbidden'
  | 'not_found'
  | 'method_not_allowed'
  | 'conflict'
  | 'internal';

/** An error the API answers with `status` and a JSON body `{error, message, ...details}`. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: ApiErrorCode,
    message: string,
    readonly details: Record<string, unknown> = {},
  ) {
    super(message);
  }
}

/** Sends a JSON body. Throws (before anything is sent) when the body cannot be serialised. */
export function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'Content-Type': 'application/json; charset=utf-8', 'Content-Length': Buffer.byteLength(text), 'Cache-Control': 'no-store', ...headers });
  res.end(text);
}

/** The body of every 500: what went wrong is logged on the server, never sent to the client. */
export const INTERNAL_ERROR_MESSAGE = 'internal server error; the server log has the details';

/**
 * Sends an {@link ApiError}, or an unexpected error as a generic 500 (the caller logs it). Never
 * throws: a reply that cannot be sent ends the connection instead.
 */
export function sendError(res: ServerResponse, error: unknown): void {
  try {
    if (res.headersSent) {
      res.destroy();
      return;
    }
    if (error instanceof ApiError) {
      sendJson(res, error.status, { error: error.code, message: error.message, ...error.details }, error.status === 405 ? { Allow: String(error.details.allow ?? '') } : {});
      return;
    }
    sendJson(res, 500, { error: 'internal', message: INTERNAL_ERROR_MESSAGE });
  } catch {
    // The reply cannot be sent (not serialisable, or the socket is gone): cutting the
    // connection is the only answer left, and the client sees it.
    res.destroy();
  }
}

/**
 * Reads a JSON request body. Only `application/json` is accepted: besides being the documented
 * format, it forces browsers to preflight cross-origin requests, which this server never
 * approves — so another web page cannot post runs to a loopback server (CSRF).
 */
export async function readJsonBody(req: IncomingMessage, limitBytes: number): Promise<unknown> {
  const type = String(req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
  if (type !== 'application/json') {
    drain(req);
    throw new ApiError(415, 'unsupported_media_type', 'request body must be JSON (Content-Type: application/json)');
  }
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > limitBytes) {
    drain(req);
    throw new ApiError(413, 'payload_too_large', `request body is larger than ${limitBytes} bytes`, { limit: limitBytes });
  }
  const chunks: Buffer[] = [];
  let size = 0;
  await new Promise<void>((resolve, reject) => {
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > limitBytes) {
        req.removeAllListeners('data');
        drain(req);
        reject(new ApiError(413, 'payload_too_large', `request body is larger than ${limitBytes} bytes`, { limit: limitBytes }));
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => resolve());
    req.on('error', reject);
  });
  const text = Buffer.concat(chunks).toString('utf8');
  if (!text.trim()) throw new ApiError(400, 'invalid_json', 'request body is empty; expected a JSON value');
  // Checked on the raw text: a value this deep would overflow the stack of whatever walks it next.
  const at = jsonNestingOverflow(text, MAX_BODY_DEPTH);
  if (at >= 0) throw new ApiError(400, 'invalid_json', `request body nests objects/arrays deeper than ${MAX_BODY_DEPTH} levels (at character ${at})`, { limit: MAX_BODY_DEPTH });
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new ApiError(400, 'invalid_json', `request body is not valid JSON: ${(error as Error).message}`);
  }
}

/** Discards the rest of a body we refused, so the connection can answer and be reused. */
function drain(req: IncomingMessage): void {
  req.resume();
}

/** ajv errors as `{pointer, message}` pairs for a 400 body. */
export function ajvIssues(errors: readonly ErrorObject[] | null | undefined): { pointer: string; message: string }[] {
  return describeAjvErrors(errors).map(({ pointer, message }) => ({ pointer, message }));
}

/** Logs an unexpected error of a request (the reply says only "internal server error"). */
export function logRequestFailure(logger: Logger, req: IncomingMessage, error: unknown): void {
  try {
    logger.error(`${req.method ?? '?'} ${String(req.url ?? '').split('?')[0]!.slice(0, 200)} failed: ${(error as Error)?.message ?? String(error)}`, { stack: (error as Error)?.stack });
  } catch {
    // A broken logger must not break the reply; there is nowhere left to report to.
  }
}
