/**
 * Node-type namespaces (the part before `/` in `plugin/Name`) and who owns them. A plugin loaded
 * from disk owns the namespace of its package name (scope and a `tessera-plugin-` prefix dropped)
 * plus any it declares; another plugin's node types in it are refused, so load order never
 * decides whose `good/Triple` a graph gets.
 */

/** Namespaces of the built-in plugins and the engine: never claimable by a plugin from disk. */
export const RESERVED_NAMESPACES: ReadonlySet<string> = new Set(['core', 'tessera', 'train', 'semalign', 'mosaic', 'metrics', 'focusdpo', 'latent', 'image', 'kernels']);

const NAMESPACE = /^[A-Za-z0-9_.-]+$/;

/** The namespace a package name implies: `@acme/tessera-plugin-blur` → `blur`. Pure. */
export function namespaceOfPackage(name: string): string {
  return name.replace(/^@[^/]+\//, '').replace(/^tessera-plugin-/, '').replace(/[^A-Za-z0-9_.-]/g, '-');
}

/** The namespace part of a node type id. Pure. */
export function namespaceOfType(type: string): string {
  return type.slice(0, Math.max(0, type.indexOf('/')));
}

/** The namespaces a plugin from disk owns: its package's, then the declared ones (deduplicated), or why the list is invalid. Pure. */
export function pluginNamespaces(packageName: string, declared: unknown): { namespaces: string[] } | { error: string } {
  if (declared !== undefined && (!Array.isArray(declared) || !declared.every((d) => typeof d === 'string' && NAMESPACE.test(d)))) {
    return { error: `namespaces must be a list of names made of letters, digits, "_", "." and "-", got ${JSON.stringify(declared)}` };
  }
  return { namespaces: [...new Set([namespaceOfPackage(packageName), ...((declared as string[] | undefined) ?? [])])] };
}
