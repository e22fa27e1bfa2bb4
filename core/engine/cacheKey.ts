import { sha256 } from '../util/hash.ts';
import { canonicalJson } from '../util/canonicalJson.ts';

/**
 * A node's input signature, ComfyUI-style: its type, version and params plus the keys of the
 * values on its inputs. Ids are not part of it, so identical subgraphs share cache entries, and
 * changing one param changes the keys of that node and everything downstream only. Pure.
 */
export function cacheKey(input: {
  type: string;
  version: string;
  params: Record<string, unknown>;
  /** Input port → keys of the linked upstream values, in link order. */
  inputs: Record<string, readonly string[]>;
  fingerprint?: string;
}): string {
  return sha256(canonicalJson([input.type, input.version, input.params, input.inputs, input.fingerprint ?? null]));
}

/** The cache entry of a result computed with an execution provider set (the key itself stays provider-free). */
export function providerKey(key: string, provider: string): string {
  return sha256(`${key}:provider:${provider}`);
}

/** The key of a result that read the run seed: the same key, specialised to that seed. */
export function seededKey(key: string, seed: number): string {
  return sha256(`${key}:seed:${seed}`);
}
