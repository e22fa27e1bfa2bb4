import { stat, readFile, copyFile, mkdir } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { writeFileAtomic } from '../util/writeFileAtomic.ts';
import { walkFiles } from '../util/walkFiles.ts';

/** The editor's sources (ui/) and bundle (ui/dist/, git-ignored). */
export const UI_DIR = fileURLToPath(new URL('../../ui/', import.meta.url));
const STAMP = '.build-stamp';

/** Newest modification time under a folder (files only), skipping dist/ and node_modules/. */
async function newestMtime(dir: string): Promise<number> {
  let newest = 0;
  for (const p of await walkFiles(dir, { skip: (name) => name === 'dist' || name === 'node_modules' || name.startsWith('.') })) newest = Math.max(newest, (await stat(p)).mtimeMs);
  return newest;
}

let building: Promise<string> | undefined;

/**
 * Makes sure `ui/dist` holds a bundle at least as new as the sources, building it with esbuild
 * when it is missing or stale. Done at server start so a clean clone (CI) needs no extra step.
 * Files are written atomically, so two servers starting at once (parallel tests) never serve a
 * half-written bundle. Returns the dist folder.
 */
export function ensureUiBundle(uiDir: string = UI_DIR, options: { force?: boolean } = {}): Promise<string> {
  if (!options.force && building && uiDir === UI_DIR) return building;
  const p = build(uiDir, options.force === true);
  if (uiDir === UI_DIR) building = p.catch((error) => {
    building = undefined;
    throw error;
  });
  return p;
}

async function build(uiDir: string, force: boolean): Promise<string> {
  const dist = join(uiDir, 'dist');
  const sources = Math.max(await newestMtime(uiDir), await newestMtime(fileURLToPath(new URL('../plugin/', import.meta.url))));
  let built = 0;
  try {
    built = Number((await readFile(join(dist, STAMP), 'utf8')).trim()) || 0;
  } catch {
    // No stamp: the bundle was never built (built stays 0).
  }
  if (!force && built >= sources) return dist;
  let esbuild: typeof import('esbuild');
  try {
    esbuild = await import('esbuild');
  } catch {
    // Production installs may omit devDependencies; a bundle shipped alongside still works.
    if (built) return dist;
    throw new Error('the editor bundle (ui/dist) is missing and esbuild is not installed to build it: run `npm install` (with devDependencies)');
  }
  const result = await esbuild.build({
    entryPoints: [join(uiDir, 'src/main.ts')],
    bundle: true,
    format: 'esm',
    target: 'es2022',
    platform: 'browser',
    outdir: dist,
    entryNames: 'app',
    write: false,
    sourcemap: 'linked',
    minify: true,
    loader: { '.css': 'css' },
    logLevel: 'silent',
    legalComments: 'linked',
  });
  await mkdir(dist, { recursive: true });
  for (const file of result.outputFiles) await writeFileAtomic(file.path, file.contents);
  const html = await readFile(join(uiDir, 'index.html'));
  await writeFileAtomic(join(dist, 'index.html'), html);
  try {
    await copyFile(join(uiDir, 'favicon.svg'), join(dist, 'favicon.svg'));
  } catch {
    // favicon.svg is optional: the editor works without one.
  }
  await writeFileAtomic(join(dist, STAMP), String(Math.ceil(sources)) + '\n');
  return dist;
}

/** For messages: the bundle folder relative to the working directory. */
export function describeDist(dist: string): string {
  return relative(process.cwd(), dist) || '.';
}
