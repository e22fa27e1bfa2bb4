import { createHash } from 'node:crypto';

/** 32-bit FNV-1a of a string: cheap seed derivation, not for cache keys. */
export function hashString32(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

/** Hex SHA-256 of a string; used for cache keys and graph hashes. */
export function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}
