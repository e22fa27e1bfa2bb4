// Port-type names and the wiring rule, shared by the engine's validator and the editor's
// browser bundle (Node-free), so both judge a link the same way.

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
