import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Workspace } from 'tessera';
import { DEFAULT_CONFIG, type GeneratorConfig, generateSample, type SemAlignSample } from '../../plugins/semalign/sample.ts';
import type { Split } from '../../plugins/semalign/identity.ts';

// Every temporary folder lives under one root per test process, which is also the workspace of
// the tests' engines: graphs there name paths inside it, as a user's graphs do inside theirs.
const root = mkdtempSync(join(tmpdir(), 'tessera-test-'));
process.on('exit', () => rmSync(root, { recursive: true, force: true }));

/**
 * The workspace for test engines: the temporary root, plus the repository for reads (graphs,
 * bundled weights).
 */
export const testWorkspace = new Workspace(root, { readRoots: [process.cwd()] });

/** A fresh temporary directory inside {@link testWorkspace}, removed when the test process exits. */
export function tempDir(label: string): string {
  return mkdtempSync(join(root, `${label}-`));
}

/** Generator config with overrides. */
export function config(over: Partial<GeneratorConfig> = {}): GeneratorConfig {
  return { ...DEFAULT_CONFIG, ...over };
}

/** `n` samples of one split with K cycling through kList (deterministic fixtures). */
export function fixtures(n: number, kList: readonly number[], over: Partial<GeneratorConfig> = {}, split: Split = 'val'): SemAlignSample[] {
  const c = config(over);
  return Array.from({ length: n }, (_, i) => generateSample(c, { split, index: i, k: kList[i % kList.length]! }));
}
