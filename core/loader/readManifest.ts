import { readFileSync } from 'node:fs';
import type { ValidateFunction } from 'ajv';
import semver from 'semver';
import { createAjv } from '../util/createAjv.ts';
import { describeAjvErrors } from '../util/describeAjvErrors.ts';
import { ENGINE_API_VERSION } from '../version.ts';

/** The `tessera` field of a plugin's package.json. */
export interface PluginManifest {
  readonly engine: string;
  readonly entry?: string;
  readonly displayName?: string;
  readonly description?: string;
  readonly icon?: string;
  readonly category?: string;
}

/** A package.json as far as the loader reads it. */
export interface PluginPackageJson {
  readonly name?: string;
  readonly version?: string;
  readonly main?: string;
  readonly keywords?: readonly string[];
  readonly tessera?: unknown;
}

const schema = JSON.parse(readFileSync(new URL('../../schemas/plugin-manifest.schema.json', import.meta.url), 'utf8')) as object;
let validate: ValidateFunction | undefined;

/**
 * Checks a package's `tessera` field and its engine range against this engine. Pure: returns the
 * manifest or the reasons to refuse the plugin.
 */
export function checkManifest(pkg: PluginPackageJson, engineVersion = ENGINE_API_VERSION): { manifest: PluginManifest } | { refused: string } {
  const name = pkg.name ?? '(unnamed)';
  if (pkg.tessera === undefined) return { refused: `${name}: package.json has no "tessera" field` };
  validate ??= createAjv().compile(schema);
  if (!validate(pkg.tessera)) {
    const why = describeAjvErrors(validate.errors, 'key').map((e) => `tessera${e.pointer}: ${e.message}`).join('; ');
    return { refused: `${name}: invalid manifest: ${why}` };
  }
  const manifest = pkg.tessera as PluginManifest;
  if (!semver.validRange(manifest.engine)) return { refused: `${name}: "tessera.engine" is not a semver range: ${JSON.stringify(manifest.engine)}` };
  if (!semver.satisfies(engineVersion, manifest.engine, { includePrerelease: true })) {
    return { refused: `${name}@${pkg.version ?? '?'} supports engine API ${manifest.engine}, but this engine's API is ${engineVersion}` };
  }
  return { manifest };
}
