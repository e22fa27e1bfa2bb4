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

type RequiredOf<S> = S extends { readonly required: readonly (infer R)[] } ? R : never;

/** Present after defaults: a property with a `default`, or one the schema requires. */
type Present<S, P, K extends keyof P> = P[K] extends { readonly default: unknown } ? true : K extends RequiredOf<S> ? true : false;

/**
 * TypeScript type of a params object described by a JSON Schema written `as const` (or inline
 * in `defineNode`): numbers, strings, booleans, enums, arrays of those. A property with a
 * `default`, or listed in `required`, is always present; any other may be absent, so its type
 * includes `undefined`.
 */
export type ParamsOf<S> = S extends { readonly properties: infer P }
  ? { -readonly [K in keyof P]: Present<S, P, K> extends true ? ValueOf<P[K]> : ValueOf<P[K]> | undefined }
  : Record<string, any>;
