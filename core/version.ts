/**
 * Version of the engine API that plugins build against (the `'tessera'` barrel). Plugins declare
 * a semver range for it in their manifest; see docs/plugins.md for what counts as breaking.
 */
export const ENGINE_API_VERSION = '0.1.0';
