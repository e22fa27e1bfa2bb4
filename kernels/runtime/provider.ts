/** Execution providers tessera asks onnxruntime for. */
export type Provider = 'cpu' | 'webgpu' | 'cuda';

/** Values the `provider` run setting accepts; 'auto' means webgpu when it works here, else cpu. */
export const PROVIDER_SETTINGS = ['cpu', 'webgpu', 'auto'] as const;
export type ProviderSetting = (typeof PROVIDER_SETTINGS)[number];

/**
 * The environment variable that carries the run's provider setting from the CLI (core/) to the
 * kernels without core importing kernels; worker threads inherit it too.
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
 * process: after the first failure, later sessions go straight to cpu and log nothing more, so a
 * run prints one fallback line however many sessions it opens.
 */
const unavailable = new Map<Provider, string>();

/** The provider to try for a session: an explicit one, else the process default ('auto' → webgpu). */
export function wantedProvider(explicit: Provider | undefined): Provider {
  if (explicit) return explicit;
  const setting = defaultProviderSetting();
  return setting === 'auto' ? 'webgpu' : setting;
}

/** The provider to actually try: cpu when `wanted` already failed in this process. */
export function providerToTry(wanted: Provider): Provider {
  return unavailable.has(wanted) ? 'cpu' : wanted;
}

/** Which providers each log sink has already been told about (the default stderr sink is one). */
const logged = new WeakMap<(line: string) => void, Set<Provider>>();

/**
 * Records that `wanted` could not create a session and writes the fallback line, once per
 * provider and log sink: a CLI run (stderr) sees one line however many sessions it opens.
 */
export function markUnavailable(wanted: Provider, error: unknown, log: (line: string) => void): void {
  if (!unavailable.has(wanted)) unavailable.set(wanted, String((error as Error)?.message ?? error).split('\n')[0]!.slice(0, 200));
  let seen = logged.get(log);
  if (!seen) logged.set(log, (seen = new Set()));
  if (seen.has(wanted)) return;
  seen.add(wanted);
  log(`kernels: execution provider '${wanted}' unavailable (${unavailable.get(wanted)}); running on cpu`);
}

/** Why `provider` fell back in this process, or undefined when it has not. */
export function unavailableReason(provider: Provider): string | undefined {
  return unavailable.get(provider);
}

/** The default log sink of sessions (one function, so the fallback line is written once per process). */
export const stderrLog = (line: string): void => {
  process.stderr.write(line + '\n');
};
