import type { ValidateFunction } from 'ajv';
import type { AnyNodeDefinition } from './NodeDefinition.ts';
import { createAjv } from '../util/createAjv.ts';
import { cloneJson } from '../util/cloneJson.ts';
import { describeAjvErrors } from '../util/describeAjvErrors.ts';
import { escapePointer, unescapePointer } from '../util/jsonPointer.ts';
import { isRecord } from '../util/own.ts';
import { quoteText } from '../util/quoteText.ts';
import { summarizeValue } from '../util/summarizeValue.ts';
import { describeNode, type NodeDescription } from './describeNode.ts';
import { RESERVED_NAMESPACES, namespaceOfType } from './namespaces.ts';

const TYPE_ID = /^[A-Za-z0-9_.-]+\/[A-Za-z0-9_.-]+$/;
const PORT_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
const SEMVER = /^\d+\.\d+\.\d+(?:[-+].*)?$/;

/** A registration refused: which plugin, which node type, why. */
export interface RegistrationProblem {
  readonly plugin: string;
  readonly nodeType: string;
  readonly message: string;
}

/** Params after defaults were applied, or the schema's complaints. */
export type ParamsResult =
  | { ok: true; params: Record<string, unknown> }
  | { ok: false; errors: { pointer: string; message: string }[] };

/**
 * Every known node type, where it came from, and its compiled params validator.
 * Registration checks each definition's shape so a plugin's mistake is reported once, with the
 * plugin's name, instead of surfacing later as a confusing run-time error.
 */
export class NodeRegistry {
  readonly #defs = new Map<string, { def: AnyNodeDefinition; plugin: string }>();
  readonly #validators = new Map<string, ValidateFunction>();
  readonly #ajv = createAjv({ useDefaults: true });
  readonly problems: RegistrationProblem[] = [];
  /** Namespace → the plugin that owns it (claimed explicitly, or by a built-in's first node type). */
  readonly #owners = new Map<string, string>();
  /** Plugins that claimed their namespaces explicitly: their node types must stay inside them. */
  readonly #declared = new Map<string, readonly string[]>();

  /**
   * Claims namespaces for a plugin loaded from disk, before its nodes register. Returns why not
   * (naming both plugins) when one is reserved for the engine or owned by another plugin.
   */
  claimNamespaces(plugin: string, namespaces: readonly string[]): string | undefined {
    for (const ns of namespaces) {
      if (RESERVED_NAMESPACES.has(ns)) return `namespace "${ns}" is reserved for tessera's built-in plugins; plugin "${plugin}" may not claim it`;
      const owner = this.#owners.get(ns);
      if (owner !== undefined && owner !== plugin) return `namespace "${ns}" clash: plugin "${plugin}" claims it, but plugin "${owner}" already owns it`;
    }
    for (const ns of namespaces) this.#owners.set(ns, plugin);
    this.#declared.set(plugin, [...namespaces]);
    return undefined;
  }

  /** Gives back a plugin's namespaces (its load failed, nothing of it registered). */
  releaseNamespaces(plugin: string): void {
    for (const [ns, owner] of this.#owners) if (owner === plugin) this.#owners.delete(ns);
    this.#declared.delete(plugin);
  }

  /** Namespaces a plugin owns, sorted. */
  namespacesOf(plugin: string): string[] {
    return [...this.#owners].filter(([, owner]) => owner === plugin).map(([ns]) => ns).sort();
  }

  /** Adds a definition; returns false (and records a problem) when it is refused. */
  register(def: AnyNodeDefinition, plugin: string): boolean {
    const fail = (message: string) => {
      this.problems.push({ plugin, nodeType: String(def?.type), message });
      return false;
    };
    if (!def || typeof def !== 'object') return fail('node definition is not an object');
    if (typeof def.type !== 'string' || !TYPE_ID.test(def.type)) return fail(`type id must look like "plugin/Name", got ${JSON.stringify(def.type)}`);
    const existing = this.#defs.get(def.type);
    if (existing) return fail(`duplicate node type ${def.type}: plugin "${plugin}" defines it, but plugin "${existing.plugin}" already registered it`);
    const ns = namespaceOfType(def.type);
    const owner = this.#owners.get(ns);
    if (owner !== undefined && owner !== plugin) return fail(`node type ${def.type} is in namespace "${ns}", owned by plugin "${owner}"; plugin "${plugin}" may not register it`);
    const declared = this.#declared.get(plugin);
    if (owner === undefined && declared) return fail(`node type ${def.type} is outside plugin "${plugin}"'s namespaces (${declared.join(', ')}); rename it or declare "${ns}" in definePlugin({ namespaces })`);
    if (typeof def.execute !== 'function') return fail('execute must be a function');
    if (typeof def.version !== 'string' || !SEMVER.test(def.version)) return fail(`version must be semver, got ${JSON.stringify(def.version)}`);
    for (const [kind, ports] of [['input', def.inputs], ['output', def.outputs]] as const) {
      if (!ports || typeof ports !== 'object') return fail(`${kind}s must be an object`);
      for (const [name, spec] of Object.entries(ports as Record<string, { type?: unknown }>)) {
        if (!PORT_NAME.test(name)) return fail(`${kind} port name ${JSON.stringify(name)} is not an identifier`);
        if (typeof spec?.type !== 'string' || !spec.type) return fail(`${kind} port ${name} has no type`);
      }
    }
    if (def.params !== undefined) {
      let validate: ValidateFunction;
      try {
        this.#allowHints(def.params);
        validate = this.#ajv.compile(def.params as object);
      } catch (error) {
        return fail(`node type ${def.type} (plugin "${plugin}") was not registered: its params schema does not compile: ${(error as Error).message}`);
      }
      const broken = brokenDefault(validate);
      if (broken) return fail(`node type ${def.type} (plugin "${plugin}") was not registered: ${broken}`);
      this.#validators.set(def.type, validate);
    }
    this.#defs.set(def.type, { def, plugin });
    // A built-in (or API-loaded) plugin claims a namespace by registering in it first.
    if (owner === undefined) this.#owners.set(ns, plugin);
    return true;
  }

  /**
   * Editor hints (`x-widget`, `x-step`, or a plugin's own `x-…`) carry no validation meaning;
   * ajv's strict mode would refuse them as unknown keywords, so each one is declared on first sight.
   */
  #allowHints(schema: unknown): void {
    if (!schema || typeof schema !== 'object') return;
    for (const [key, value] of Object.entries(schema)) {
      if (key.startsWith('x-') && !this.#ajv.getKeyword(key)) this.#ajv.addKeyword({ keyword: key });
      if (value && typeof value === 'object') this.#allowHints(value);
    }
  }

  get(type: string): AnyNodeDefinition | undefined {
    return this.#defs.get(type)?.def;
  }

  /** Name of the plugin that registered `type`. */
  pluginOf(type: string): string | undefined {
    return this.#defs.get(type)?.plugin;
  }

  has(type: string): boolean {
    return this.#defs.has(type);
  }

  /** Registered type ids, sorted. */
  types(): string[] {
    return [...this.#defs.keys()].sort();
  }

  /** Definitions as JSON for `tessera nodes --json` and the editor (like ComfyUI's object_info). */
  describe(): NodeDescription[] {
    return this.types().map((t) => describeNode(this.#defs.get(t)!.def, this.#defs.get(t)!.plugin));
  }

  /**
   * Validates params against the node's schema and fills in defaults. Pure with respect to its
   * argument: the caller's object is not modified.
   */
  resolveParams(type: string, params: Record<string, unknown> | undefined): ParamsResult {
    if (params !== undefined && !isRecord(params)) return { ok: false, errors: [{ pointer: '', message: 'params must be an object' }] };
    const value = params ? cloneJson(params) : {};
    const validate = this.#validators.get(type);
    if (!validate) {
      const extra = Object.keys(value);
      return extra.length ? { ok: false, errors: extra.map((k) => ({ pointer: `/${escapePointer(k)}`, message: `unknown param ${quoteText(k)} (this node takes no params)` })) } : { ok: true, params: value };
    }
    if (validate(value)) return { ok: true, params: value };
    return { ok: false, errors: describeAjvErrors(validate.errors, 'param').map(({ pointer, message }) => ({ pointer, message })) };
  }
}

/**
 * Why a schema's own defaults break it, or undefined. The validator fills the defaults into an
 * empty object; a complaint inside a member (a non-empty instance path) is then about a default,
 * while complaints about the object itself (a required param without a default) are the graph's
 * to answer. Caught here, the plugin is blamed at load instead of every graph that uses the node.
 */
function brokenDefault(validate: ValidateFunction): string | undefined {
  // Param names are the plugin's words: a null-prototype record, read only through own keys.
  const filled: Record<string, unknown> = Object.create(null);
  if (validate(filled)) return undefined;
  const problem = describeAjvErrors(validate.errors, 'param').find((p) => p.error.instancePath !== '');
  if (!problem) return undefined;
  const param = unescapePointer(problem.pointer.split('/')[1]!);
  const value = Object.hasOwn(filled, param) ? filled[param] : undefined;
  return `the default of param ${quoteText(param)} (${summarizeValue(value)}) does not fit its own schema: ${problem.pointer} ${problem.message}`;
}
