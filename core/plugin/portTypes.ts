/**
 * Port types: the names that typed ports carry, as in ComfyUI (`"IMAGE"`, `"MODEL"`, …).
 *
 * A port type is a plain upper-case string so plugins can add their own (`"MASK"`, `"TOKENS"`)
 * without touching the engine; {@link PortTypeMap} maps each name to the TypeScript type its
 * values have, and plugins extend it by declaration merging. The names and the wiring rule live
 * in core/wire (shared with the editor).
 */
export { PortTypes, splitPortType, isPortCompatible } from '../wire/portTypes.ts';
export type { PortType } from '../wire/portTypes.ts';

/**
 * An image value on IMAGE ports: 8-bit RGBA (or RGB/gray by `channels`), row-major.
 *
 * @example
 * const img: ImageValue = { width: 2, height: 1, channels: 4, data: new Uint8Array(8) };
 */
export interface ImageValue {
  width: number;
  height: number;
  channels: 1 | 3 | 4;
  data: Uint8Array;
}

/**
 * Maps a port type name to the TypeScript type of its values. Extend it from a plugin:
 *
 * @example
 * declare module 'tessera' {
 *   interface PortTypeMap { MASK: Uint8Array }
 * }
 */
export interface PortTypeMap {
  ANY: unknown;
  NUMBER: number;
  INT: number;
  STRING: string;
  BOOLEAN: boolean;
  JSON: unknown;
  IMAGE: ImageValue;
  TENSOR: unknown;
  MODEL: unknown;
  LOSS: unknown;
  DATASET: unknown;
}

/** Value type of a port type name (unknown for names no one declared). */
export type PortValue<T extends string> = T extends keyof PortTypeMap ? PortTypeMap[T] : unknown;
