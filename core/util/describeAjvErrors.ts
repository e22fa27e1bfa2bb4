import type { ErrorObject } from 'ajv';
import { escapePointer } from './jsonPointer.ts';
import { quoteText } from './quoteText.ts';

/** One schema violation: a JSON pointer to the offending member and a plain message. */
export interface SchemaProblem {
  readonly pointer: string;
  readonly message: string;
  readonly error: ErrorObject;
}

/**
 * ajv's errors in the project's shape. ajv points `additionalProperties` and `required` at the
 * enclosing object; here the pointer names the unknown or missing member itself, and the message
 * says which, using `noun` ("property", "param", "key").
 */
export function describeAjvErrors(errors: readonly ErrorObject[] | null | undefined, noun = 'property'): SchemaProblem[] {
  return (errors ?? []).map((error) => {
    const p = error.params as Record<string, unknown>;
    switch (error.keyword) {
      case 'additionalProperties':
        return { error, pointer: `${error.instancePath}/${escapePointer(String(p.additionalProperty))}`, message: `unknown ${noun} ${quoteText(p.additionalProperty)}` };
      case 'required':
        return { error, pointer: `${error.instancePath}/${escapePointer(String(p.missingProperty))}`, message: `missing required ${noun} "${p.missingProperty}"` };
      case 'const':
        return { error, pointer: error.instancePath, message: `must be ${JSON.stringify(p.allowedValue)}` };
      case 'enum':
        return { error, pointer: error.instancePath, message: `must be one of ${JSON.stringify(p.allowedValues)}` };
      default:
        return { error, pointer: error.instancePath, message: error.message ?? 'is invalid' };
    }
  });
}
