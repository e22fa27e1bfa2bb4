// Port colours: one fixed colour per built-in port type, a stable hashed hue for plugin types.

const FIXED: Record<string, string> = {
  ANY: '#a0a0a0',
  NUMBER: '#6fb6ff',
  INT: '#3f8fd9',
  STRING: '#8fd16a',
  BOOLEAN: '#f0a35e',
  JSON: '#c59cf2',
  IMAGE: '#4fd1c5',
  TENSOR: '#ff8a65',
  MODEL: '#b39ddb',
  LOSS: '#ef6f6f',
  DATASET: '#f3d250',
};

/** The colour of a port type; a union (`A|B`) takes its first member's colour. */
export function typeColor(type: string): string {
  const first = type.split('|')[0]!.trim();
  if (FIXED[first]) return FIXED[first]!;
  let h = 0;
  for (const c of first) h = (h * 31 + c.charCodeAt(0)) >>> 0;
  return `hsl(${h % 360}, 65%, 62%)`;
}

/** Outline/badge colours of node run states. */
export const STATE_COLORS = {
  queued: '#8a8a8a',
  running: '#f5c542',
  done: '#4caf50',
  cached: '#29b6f6',
  error: '#ff4d4d',
  skipped: '#777777',
  invalid: '#ff4d4d',
} as const;

/** A run's warnings on a node (its `node:log` warn events): the mark beside the badge and the lines under it. */
export const WARN_COLOR = '#f0a35e';

/** The badge of a node's pinned execution provider. */
export const PROVIDER_COLOR = '#9ecbff';
