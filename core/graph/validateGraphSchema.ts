import type { ErrorObject, ValidateFunction } from 'ajv';
import { readFileSync } from 'node:fs';
import { createAjv } from '../util/createAjv.ts';
import { dedupeIssues, type ValidationIssue } from './ValidationIssue.ts';
import { escapePointer, unescapePointer } from '../util/jsonPointer.ts';
import { describeAjvErrors, type SchemaProblem } from '../util/describeAjvErrors.ts';
import { quoteText } from '../util/quoteText.ts';

let compiled: ValidateFunction | undefined;

/** The graph JSON Schema shipped in schemas/graph.schema.json. */
export const graphSchema: Record<string, unknown> = JSON.parse(readFileSync(new URL('../../schemas/graph.schema.json', import.meta.url), 'utf8'));

/** Checks a parsed file against schemas/graph.schema.json; every error, each with its pointer. */
export function validateGraphSchema(doc: unknown): ValidationIssue[] {
  compiled ??= createAjv({ verbose: true }).compile(graphSchema);
  if (compiled(doc)) return [];
  return dedupeIssues(describeAjvErrors((compiled.errors ?? []).filter((e) => !isNoise(e))).map(toIssue));
}

// `oneOf` on inputs reports each branch's failure plus the oneOf itself; the branch errors say more.
// `propertyNames` failures arrive twice (the inner pattern and the outer keyword); keep the outer.
function isNoise(e: ErrorObject): boolean {
  return e.keyword === 'oneOf' || e.keyword === 'if' || (e.propertyName !== undefined && e.keyword !== 'propertyNames');
}

function toIssue({ error: e, pointer, message: described }: SchemaProblem): ValidationIssue {
  let ptr = pointer;
  let message = described;
  const p = e.params as Record<string, unknown>;
  if (e.keyword === 'pattern' && /^\/nodes\/[^/]+\/type$/.test(ptr)) {
    message = 'node type must look like "plugin/Name"';
  } else if (e.keyword === 'propertyNames') {
    message = `invalid node id ${quoteText(p.propertyName)} (letters, digits, _ . : - ; at most 128 characters)`;
    ptr += '/' + escapePointer(String(p.propertyName));
  }
  if (e.keyword === 'const' && ptr === '/version') {
    return { code: 'unsupported_version', pointer: ptr, message: `format version ${quoteText((e as { data?: unknown }).data ?? '?')} is not supported (this engine reads versions 0 and 1)` };
  }
  const m = /^\/nodes\/([^/]+)/.exec(ptr);
  const nodeId = m ? unescapePointer(m[1]!) : undefined;
  return { code: 'schema', message, pointer: ptr, ...(nodeId !== undefined ? { nodeId } : {}) };
}
