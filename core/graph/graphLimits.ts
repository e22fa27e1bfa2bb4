/**
 * Size limits on a graph file, checked before anything else reads it, so a hostile or broken file
 * gets a clear issue instead of exhausting the stack or memory. Documented in docs/engine.md.
 */
export const GRAPH_LIMITS = {
  /** Bytes of a graph file (`tessera validate`/`run`); also the longest JSON text parseGraph takes. */
  fileBytes: 50 * 1024 * 1024,
  /** Nesting levels of objects and arrays; the document itself is level 0. */
  depth: 256,
  /** Characters of any one string, object keys included. */
  stringLength: 1024 * 1024,
  /** Nodes in one graph. */
  nodes: 10_000,
  /** Issues reported for one file; the rest are counted in one `more_issues` issue. */
  issues: 200,
} as const;
