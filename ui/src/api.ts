import type { GraphDocument, NodeDescription, RunInfo, ServerMessage, ValidationIssue } from './types.ts';

/** An API error body: `{error, message, ...}` with the HTTP status. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly body: { error: string; message: string; issues?: ValidationIssue[]; [k: string]: unknown },
  ) {
    super(body.message);
  }
}

/**
 * The editor's client of the tessera API. A token (from `?token=` in the page URL) is sent as a
 * Bearer header and, for the WebSocket, as a query parameter.
 */
export class Api {
  readonly #base: string;
  readonly #token: string | null;

  constructor(base = location.origin, token = new URLSearchParams(location.search).get('token')) {
    this.#base = base.replace(/\/$/, '');
    this.#token = token;
  }

  async request<T>(method: string, path: string, body?: unknown): Promise<T> {
    const headers: Record<string, string> = {};
    if (this.#token) headers.Authorization = `Bearer ${this.#token}`;
    if (body !== undefined) headers['Content-Type'] = 'application/json';
    const res = await fetch(this.#base + path, { method, headers, ...(body !== undefined ? { body: JSON.stringify(body) } : {}) });
    const text = await res.text();
    let json: unknown;
    try {
      json = text ? JSON.parse(text) : undefined;
    } catch {
      json = text;
    }
    if (!res.ok) throw new ApiError(res.status, typeof json === 'object' && json ? (json as ApiError['body']) : { error: 'http', message: `${res.status} ${res.statusText}` });
    return json as T;
  }

  nodes(): Promise<NodeDescription[]> {
    return this.request('GET', '/api/nodes');
  }

  validate(graph: GraphDocument): Promise<{ valid: boolean; issues: ValidationIssue[]; migratedFrom?: number; graph?: GraphDocument }> {
    return this.request('POST', '/api/validate', { graph });
  }

  run(graph: GraphDocument, options: { seed?: number; label?: string } = {}): Promise<{ run: RunInfo }> {
    return this.request('POST', '/api/runs', { graph, ...options });
  }

  cancel(runId: string): Promise<{ run: RunInfo }> {
    return this.request('POST', `/api/runs/${encodeURIComponent(runId)}/cancel`);
  }

  runs(): Promise<{ runs: RunInfo[] }> {
    return this.request('GET', '/api/runs');
  }

  runFiles(runId: string): Promise<{ files: { path: string; size: number }[] }> {
    return this.request('GET', `/api/runs/${encodeURIComponent(runId)}/files`);
  }

  /** A run file as text (e.g. `graph.json`, the graph as the run ran it). */
  async runFileText(runId: string, path: string): Promise<string> {
    const headers: Record<string, string> = this.#token ? { Authorization: `Bearer ${this.#token}` } : {};
    const res = await fetch(this.fileUrl(runId, path), { headers });
    if (!res.ok) throw new ApiError(res.status, (await res.json().catch(() => ({ error: 'http', message: `${path} of run ${runId}: ${res.status} ${res.statusText}` }))) as ApiError['body']);
    return res.text();
  }

  /** A link to one run file; carries the token in the query, since a link cannot set headers. */
  fileUrl(runId: string, path: string): string {
    const url = `${this.#base}/api/runs/${encodeURIComponent(runId)}/files/${path.split('/').map(encodeURIComponent).join('/')}`;
    return this.#token ? `${url}?token=${encodeURIComponent(this.#token)}` : url;
  }

  graphs(): Promise<{ graphs: { path: string; name?: string; description?: string }[] }> {
    return this.request('GET', '/api/graphs');
  }

  async graphText(path: string): Promise<string> {
    const headers: Record<string, string> = this.#token ? { Authorization: `Bearer ${this.#token}` } : {};
    const res = await fetch(`${this.#base}/api/graphs/${path.split('/').map(encodeURIComponent).join('/')}`, { headers });
    if (!res.ok) throw new ApiError(res.status, (await res.json().catch(() => ({ error: 'http', message: res.statusText }))) as ApiError['body']);
    return res.text();
  }

  saveGraph(path: string, graph: GraphDocument): Promise<{ path: string; bytes: number }> {
    return this.request('PUT', `/api/graphs/${path.split('/').map(encodeURIComponent).join('/')}`, graph);
  }

  workspaceFiles(ext?: string): Promise<{ files: string[] }> {
    return this.request('GET', `/api/workspace/files${ext ? `?ext=${encodeURIComponent(ext)}` : ''}`);
  }

  /**
   * Opens the event stream and keeps it open: a dropped connection is retried with a growing
   * delay (at most 5 s). Returns a function that closes it for good.
   */
  connect(onMessage: (m: ServerMessage) => void, onState: (connected: boolean) => void): () => void {
    let ws: WebSocket | undefined;
    let stopped = false;
    let delay = 250;
    const open = () => {
      const url = new URL('/api/ws', this.#base.replace(/^http/, 'ws'));
      if (this.#token) url.searchParams.set('token', this.#token);
      ws = new WebSocket(url);
      ws.onopen = () => {
        delay = 250;
        onState(true);
      };
      ws.onmessage = (e) => {
        try {
          onMessage(JSON.parse(String(e.data)) as ServerMessage);
        } catch (error) {
          console.error('bad message', error);
        }
      };
      ws.onclose = () => {
        onState(false);
        if (stopped) return;
        setTimeout(open, delay);
        delay = Math.min(5000, delay * 2);
      };
    };
    open();
    return () => {
      stopped = true;
      ws?.close();
    };
  }
}
