/** The subset of JSON Schema the engine reads itself (ajv validates the full language). */
export interface JsonSchema {
  readonly type?: string | readonly string[];
  readonly properties?: Readonly<Record<string, JsonSchema>>;
  readonly required?: readonly string[];
  readonly default?: unknown;
  readonly enum?: readonly unknown[];
  readonly const?: unknown;
  readonly items?: JsonSchema | boolean;
  readonly minimum?: number;
  readonly maximum?: number;
  readonly description?: string;
  readonly title?: string;
  readonly [keyword: string]: unknown;
}

type ValueOf<S> = S extends { readonly enum: readonly (infer E)[] }
  ? E
  : S extends { readonly type: 'number' | 'integer' }
    ? number
    : S extends { readonly type: 'string' }
      ? string
      : S extends { readonly type: 'boolean' }
        ? boolean
        : S extends { readonly type: 'array'; readonly items: infer Item }
          ? ValueOf<Item>[]
          : S extends { readonly type: 'array' }
          ? unknown[]
          : S extends { readonly type: 'object' }
            ? Record<string, unknown>
            : unknown;

/**
 * TypeScript type of a params object described by a JSON Schema written `as const` (or inline
 * in `defineNode`): numbers, strings, booleans, enums, arrays of those; properties with a default
 * are present.
 */
export type ParamsOf<S> = S extends { readonly properties: infer P }
  ? { -readonly [K in keyof P]: ValueOf<P[K]> }
  : Record<string, any>;
