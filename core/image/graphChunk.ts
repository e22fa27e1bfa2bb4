import { asciiJson, type PngText } from './png.ts';

/** The PNG `tEXt` keyword under which images carry the graph they were made by. */
export const GRAPH_PNG_KEYWORD = 'tessera-graph';

/** Graphs whose JSON is longer than this are not embedded (a PNG should stay an image). */
export const GRAPH_PNG_MAX_CHARS = 1 << 20;

/**
 * The text chunk that embeds a graph document (ASCII JSON under {@link GRAPH_PNG_KEYWORD}), or
 * undefined when there is no graph or its JSON exceeds {@link GRAPH_PNG_MAX_CHARS}. The editor
 * opens a PNG dropped on its canvas from this chunk.
 */
export function graphPngText(graph: unknown): PngText | undefined {
  if (!graph || typeof graph !== 'object') return undefined;
  const json = asciiJson(graph);
  return json.length > GRAPH_PNG_MAX_CHARS ? undefined : new Map([[GRAPH_PNG_KEYWORD, json]]);
}
