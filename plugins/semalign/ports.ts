import type { ImageValue } from 'tessera';
import type { SemAlignSample } from './sample.ts';

/**
 * Attention maps for PCK: a plain row-major tensor. `shape` is [rows, cols] with rows = the
 * concatenated reference patches of all K references in slot order (MOSAIC's global index
 * G(u)) and cols = target patches; or [K, refPatches, targetPatches].
 */
export interface AttentionMaps {
  readonly shape: readonly number[];
  readonly data: Float32Array;
}

declare module 'tessera' {
  interface PortTypeMap {
    /** A batch of in-memory SemAlign samples. */
    SEMALIGN_SAMPLES: SemAlignSample[];
    /** Images aligned with a SEMALIGN_SAMPLES batch (e.g. a model's generations). */
    IMAGE_BATCH: ImageValue[];
    /** Attention maps aligned with a SEMALIGN_SAMPLES batch. */
    ATTENTION_BATCH: AttentionMaps[];
  }
}

/** Port type names this plugin adds. */
export const SemAlignPorts = {
  SAMPLES: 'SEMALIGN_SAMPLES',
  IMAGE_BATCH: 'IMAGE_BATCH',
  ATTENTION_BATCH: 'ATTENTION_BATCH',
} as const;
