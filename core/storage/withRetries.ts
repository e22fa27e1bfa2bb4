/** How often a step that failed is tried again, and after which pauses. */
export interface RetryPolicy {
  /** Tries in all (1: no retry). */
  readonly tries: number;
  /** Pause before the 2nd try; each later pause is `factor` times the one before. */
  readonly firstDelayMs: number;
  readonly factor: number;
}

/**
 * A run directory's final upload: 3 tries, after 1 s and 4 s. The S3 client repeats a request
 * 3 times within a second or so, but only one whose body is in memory (files and parts up to
 * 64 MiB; a streamed body cannot be replayed); each try here reads the files again. The pauses
 * outlast a short outage (a restarting service, a dropped network) without holding a finished
 * run for long before it ends failed.
 */
export const UPLOAD_RETRY: RetryPolicy = { tries: 3, firstDelayMs: 1000, factor: 4 };

/** The pause before try `n` (2, 3, …) of `policy`. */
export function retryDelayMs(policy: RetryPolicy, n: number): number {
  return policy.firstDelayMs * policy.factor ** (n - 2);
}

/**
 * Runs `step` until it resolves, at most `policy.tries` times, pausing between tries; rejects
 * with the last error. `onRetry` hears of each failure that will be tried again.
 */
export async function withRetries<T>(step: () => Promise<T>, policy: RetryPolicy, onRetry?: (error: unknown, nextTry: number, delayMs: number) => void): Promise<T> {
  const tries = Math.max(1, Math.floor(policy.tries));
  for (let n = 1; ; n++) {
    try {
      return await step();
    } catch (error) {
      if (n >= tries) throw error;
      const delayMs = retryDelayMs(policy, n + 1);
      onRetry?.(error, n + 1, delayMs);
      await new Promise((r) => setTimeout(r, delayMs));
    }
  }
}
