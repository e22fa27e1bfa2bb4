import { AsyncLocalStorage } from 'node:async_hooks';

/** Execution providers tessera asks onnxruntime for. */
export type Provider = 'cpu' | 'webgpu' | 'cuda';

/** Values the `provider` run setting accepts; 'auto' means webgpu when it works here, else cpu. */
export const PROVIDER_SETTINGS = ['cpu', 'webgpu', 'auto'] as const;
export type ProviderSetting = (typeof PROVIDER_SETTINGS)[number];

/**
 * The environment variable holding the process default: what sessions use outside any provider
 * scope (scripts, benches) and inside a run that sets no provider; worker threads inherit it.
 */
export const PROVIDER_ENV = 'TESSERA_PROVIDER';

export function isProviderSetting(value: unknown): value is ProviderSetting {
  return typeof value === 'string' && (PROVIDER_SETTINGS as readonly string[]).includes(value);
}

/** The process-wide default provider: TESSERA_PROVIDER when set to a valid value, else 'cpu'. */
export function defaultProviderSetting(env: NodeJS.ProcessEnv = process.env): ProviderSetting {
  const v = env[PROVIDER_ENV];
  if (v === undefined || v === '') return 'cpu';
  if (!isProviderSetting(v)) throw new Error(`kernels: ${PROVIDER_ENV}='${v}' is not one of ${PROVIDER_SETTINGS.join(', ')}`);
  return v;
}

/**
 * Providers that failed to create a session in this process, with the reason. Checked once per
 * process: after the first failure, later sessions go straight to cpu without retrying; the
 * fallback is still reported once per log sink or per scope group (one run), see markUnavailable.
 */
const unavailable = new Map<Provider, string>();

/**
 * The provider setting and fallback reporting in force for the code running inside
 * `runWithProviderScope` (and everything it awaits): how a graph's, a run's or a node's
 * `provider` reaches the sessions a node opens without every plugin passing it along.
 */
export interface ProviderScope {
  /** Setting for sessions opened without an explicit `provider` option; undefined: the process default. */
  readonly setting?: ProviderSetting;
  /** Where the fallback line goes (e.g. the running node's `node:log` event); default stderr. */
  readonly log?: ProviderLog;
  /**
   * Providers already reported in this scope's group (e.g. one run): shared by the scopes of one
   * run's nodes, so a run reports each fallback once whichever node hits it first.
   */
  readonly reported?: Set<Provider>;
}

const scopes = new AsyncLocalStorage<ProviderScope>();

/** A fallback sink: the human line, plus the same facts as fields for structured logs and events. */
export type ProviderLog = (line: string, fields?: Readonly<{ provider: Provider; fallback: Provider; reason: string }>) => void;

/** Runs `fn` (and what it awaits) with `scope` as the provider setting and fallback sink. */
export function runWithProviderScope<T>(scope: ProviderScope, fn: () => T): T {
  if (scope.setting !== undefined && !isProviderSetting(scope.setting)) throw new Error(`kernels: provider '${String(scope.setting)}' is not one of ${PROVIDER_SETTINGS.join(', ')}`);
  return scopes.run(scope, fn);
}

/** The setting in force here: the innermost scope's, else the process default. */
export function currentProviderSetting(): ProviderSetting {
  return scopes.getStore()?.setting ?? defaultProviderSetting();
}

/** The provider to try for a session: an explicit one, else the scope's or process setting ('auto' → webgpu). */
export function wantedProvider(explicit: Provider | undefined): Provider {
  if (explicit) return explicit;
  const setting = currentProviderSetting();
  return setting === 'auto' ? 'webgpu' : setting;
}

/** The fallback sink for a session: its own `log` option, else the scope's, else stderr. */
export function fallbackLog(explicit: ProviderLog | undefined): ProviderLog {
  return explicit ?? scopes.getStore()?.log ?? stderrLog;
}

/** The provider to actually try: cpu when `wanted` already failed in this process. */
export function providerToTry(wanted: Provider): Provider {
  return unavailable.has(wanted) ? 'cpu' : wanted;
}

/** Which providers each log sink has already been told about (the default stderr sink is one). */
const logged = new WeakMap<ProviderLog, Set<Provider>>();

/**
 * Records that `wanted` could not create a session and writes the fallback line, once per
 * provider and log sink: a CLI run (stderr) sees one line however many sessions it opens.
 */
export function markUnavailable(wanted: Provider, error: unknown, log: ProviderLog): void {
  if (!unavailable.has(wanted)) unavailable.set(wanted, ortReason(error));
  const group = scopes.getStore()?.reported;
  let seen = group ?? logged.get(log);
  if (!seen) logged.set(log, (seen = new Set()));
  if (seen.has(wanted)) return;
  seen.add(wanted);
  const reason = unavailable.get(wanted)!;
  log(`kernels: execution provider '${wanted}' unavailable (${reason}); running on cpu`, { provider: wanted, fallback: 'cpu', reason });
}

/**
 * ORT's error text without its source location and C++ signature prefix
 * ("/onnxruntime_src/…/webgpu_context.cc:136 onnxruntime::…::<lambda()> adapter_result.status …"),
 * so the fallback line shows the reason ("… Failed to get a WebGPU adapter: No supported adapters").
 */
export function ortReason(error: unknown): string {
  let text = String((error as Error)?.message ?? error).trim().split('\n')[0]!;
  text = text.replace(/^\/\S+:\d+ /, '');
  const lambda = text.indexOf('<lambda()> ');
  if (lambda >= 0) text = text.slice(lambda + '<lambda()> '.length);
  else if (/^onnxruntime::\S/.test(text)) text = text.replace(/^onnxruntime::[^ ]*\([^)]*\)[^ ]* /, '');
  return text.length > 300 ? text.slice(0, 299) + '…' : text;
}

/** The default log sink of sessions (one function, so the fallback line is written once per process). */
export const stderrLog = (line: string): void => {
  process.stderr.write(line + '\n');
};
