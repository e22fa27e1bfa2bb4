import { isRecord } from '../util/own.ts';

/** How often a waiting sweep asks the server again. */
export const POLL_MS = 500;
/** Requests that fail (the server restarting, a network blip) are retried this long before the sweep gives up. */
const UNREACHABLE_MS = 120_000;
/** A request the server has not answered by then is given up. */
export const REQUEST_MS = 30_000;

/** An answer of the server that is not 2xx: its status, and its body's `error` code and `issues`. */
export class HttpError extends Error {
  constructor(readonly status: number, message: string, readonly code?: string, readonly issues: readonly { pointer: string; message: string }[] = []) {
    super(message);
  }
}

/** A tiny client of a `tessera serve` for the sweep command. */
export interface ServerApi {
  /** The server's root URL, ending with `/`. */
  readonly root: string;
  /** One request; rejects with an HttpError for a non-2xx answer, or with the fetch error. */
  call(method: string, path: string, body?: unknown): Promise<Record<string, unknown>>;
  /** A request retried while the server cannot answer (connection refused, timeout, 5xx), for up to 2 minutes. */
  patient(method: string, path: string): Promise<Record<string, unknown>>;
}

/** A client of the server at `base`, with its token (a Bearer header), every request limited to `requestMs`. */
export function serverApi(base: string, token: string | undefined, requestMs = REQUEST_MS): ServerApi {
  const root = base.endsWith('/') ? base : base + '/';
  const call = async (method: string, path: string, body?: unknown): Promise<Record<string, unknown>> => {
    // The timeout covers the body too: a server that hangs mid-answer fails this request only.
    const res = await fetch(new URL(path, root), {
      method,
      signal: AbortSignal.timeout(requestMs),
      headers: { ...(body !== undefined ? { 'content-type': 'application/json' } : {}), ...(token ? { authorization: `Bearer ${token}` } : {}) },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    });
    const json = (await res.json().catch(() => undefined)) as unknown;
    if (!res.ok) {
      const issues = isRecord(json) && Array.isArray(json.issues) ? json.issues.filter(isRecord).map((i) => ({ pointer: String(i.pointer ?? ''), message: String(i.message ?? '') })) : [];
      const message = isRecord(json) && typeof json.message === 'string' ? json.message : res.statusText;
      const detail = issues.length ? `: ${issues.map((i) => `${i.pointer || '/'} ${i.message}`).join('; ')}` : '';
      throw new HttpError(res.status, `${method} ${path}: ${res.status} ${message}${detail}`, isRecord(json) && typeof json.error === 'string' ? json.error : undefined, issues);
    }
    if (!isRecord(json)) throw new HttpError(res.status, `${method} ${path}: the answer is not a JSON object`);
    return json;
  };
  const patient = async (method: string, path: string): Promise<Record<string, unknown>> => {
    const deadline = Date.now() + UNREACHABLE_MS;
    for (;;) {
      try {
        return await call(method, path);
      } catch (error) {
        const retry = !(error instanceof HttpError) || error.status >= 500;
        if (!retry || Date.now() > deadline) throw error;
        await new Promise((r) => setTimeout(r, POLL_MS * 4));
      }
    }
  };
  return { root, call, patient };
}
