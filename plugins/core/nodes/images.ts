import { readFile, stat } from 'node:fs/promises';
import { defineNode } from 'tessera';
import { decodePng } from 'tessera/image';

/** Reads a PNG from the workspace (ComfyUI's LoadImage), re-reading when the file changes. */
export const LoadImageNode = defineNode({
  type: 'core/LoadImage',
  title: 'Load image',
  category: 'core/input',
  description: 'Reads a PNG file from the workspace as an IMAGE (gray, RGB or RGBA).',
  version: '1.0.0',
  inputs: {},
  outputs: { image: { type: 'IMAGE' } },
  params: {
    type: 'object',
    properties: {
      path: { type: 'string', minLength: 1, 'x-path': 'read', description: 'PNG file, relative to the workspace root; may not leave the workspace.' },
      channels: { enum: [1, 3, 4], default: 3, description: '1 = gray (a color file is refused), 3 = RGB, 4 = RGBA.' },
    },
    required: ['path'],
    additionalProperties: false,
  },
  // The path alone does not tell whether the file changed: its size and mtime do.
  cache: {
    fingerprint: async (params, paths) => {
      const file = await paths.resolvePath(String(params.path));
      const s = await stat(file);
      return `${file}:${s.size}:${s.mtimeMs}`;
    },
  },
  async execute(ctx) {
    const { params, progress } = ctx;
    // ctx.resolvePath is a method: called on ctx, not destructured.
    const file = await ctx.resolvePath(params.path, 'read');
    let bytes: Uint8Array;
    try {
      bytes = await readFile(file);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      throw new Error(`core/LoadImage: cannot read ${file} (${code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'a folder, not a file' : (code ?? (error as Error).message)})`);
    }
    const image = decodePng(bytes, file, params.channels);
    progress(1, 1, params.path, image);
    return { image };
  },
});
