import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DEFAULT_CONFIG, type GeneratorConfig, generateSample, type SemAlignSample } from '../../plugins/semalign/sample.ts';
import type { Split } from '../../plugins/semalign/identity.ts';

const made: string[] = [];
process.on('exit', () => {
  for (const dir of made) rmSync(dir, { recursive: true, force: true });
});

/** A fresh temporary directory, removed when the test process exits. */
export function tempDir(label: string): string {
  const dir = mkdtempSync(join(tmpdir(), `semalign-${label}-`));
  made.push(dir);
  return dir;
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
