import type { JsonSchema } from './types.ts';

/**
 * Why a typed number is refused for a param, or undefined when it is accepted. The editor refuses
 * instead of clamping: `-5` for a param with minimum 0 is a mistake to show, not to silently turn
 * into 0 (the schema is the engine's, so the run would refuse the same value).
 */
export function numberProblem(key: string, schema: JsonSchema, text: string): string | undefined {
  const t = text.trim();
  const v = t === '' ? NaN : Number(t);
  if (!Number.isFinite(v)) return `${key}: "${text}" is not a number`;
  const types = Array.isArray(schema.type) ? schema.type : [schema.type];
  if (types.includes('integer') && !types.includes('number') && !Number.isInteger(v)) return `${key} must be a whole number (got ${t})`;
  if (schema.minimum !== undefined && v < schema.minimum) return `${key} must be at least ${schema.minimum} (got ${t})`;
  if (schema.maximum !== undefined && v > schema.maximum) return `${key} must be at most ${schema.maximum} (got ${t})`;
  if (schema.exclusiveMinimum !== undefined && v <= schema.exclusiveMinimum) return `${key} must be greater than ${schema.exclusiveMinimum} (got ${t})`;
  if (schema.exclusiveMaximum !== undefined && v >= schema.exclusiveMaximum) return `${key} must be less than ${schema.exclusiveMaximum} (got ${t})`;
  return undefined;
}
