import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DEFAULT_CONFIG, type GeneratorConfig, generateSample, type SemAlignSample } from '../../plugins/semalign/sample.ts';
import type { Split } from '../../plugins/semalign/identity.ts';

/** A fresh temporary directory. */
export function tempDir(label: string): string {
  return mkdtempSync(join(tmpdir(), `semalign-${label}-`));
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
