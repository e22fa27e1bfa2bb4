/**
 * Port types: the names that typed ports carry, as in ComfyUI (`"IMAGE"`, `"MODEL"`, …).
 *
 * A port type is a plain upper-case string so plugins can add their own (`"MASK"`, `"TOKENS"`)
 * without touching the engine; {@link PortTypeMap} maps each name to the TypeScript type its
 * values have, and plugins extend it by declaration merging.
 */
export const PortTypes = {
  ANY: 'ANY',
  NUMBER: 'NUMBER',
  INT: 'INT',
  STRING: 'STRING',
  BOOLEAN: 'BOOLEAN',
  JSON: 'JSON',
  IMAGE: 'IMAGE',
  TENSOR: 'TENSOR',
  MODEL: 'MODEL',
  LOSS: 'LOSS',
  DATASET: 'DATASET',
} as const;

/** A port type name: one of {@link PortTypes} or a plugin's own upper-case name. */
export type PortType = string;

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

/** Port type names may be unions written `"IMAGE|TENSOR"`; this splits them. Anything but a string has no members. */
export function splitPortType(type: PortType): string[] {
  if (typeof type !== 'string') return [];
  return type.split('|').map((t) => t.trim()).filter(Boolean);
}

/**
 * Whether an output of type `from` may be wired into an input of type `to`.
 * ANY on either side matches; NUMBER accepts INT (an integer is a number); unions match if any
 * member does.
 */
export function isPortCompatible(from: PortType, to: PortType): boolean {
  const outs = splitPortType(from);
  const ins = splitPortType(to);
  for (const o of outs) {
    for (const i of ins) {
      if (o === i || o === PortTypes.ANY || i === PortTypes.ANY) return true;
      if (i === PortTypes.NUMBER && o === PortTypes.INT) return true;
    }
  }
  return false;
}
