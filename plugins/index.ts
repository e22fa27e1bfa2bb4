import type { TesseraPlugin } from 'tessera';
import core from './core/index.ts';
import semalign from './semalign/index.ts';
import metrics from './metrics/index.ts';
import train from './train/index.ts';
import mosaic from './mosaic/index.ts';
import focusdpo from './focusdpo/index.ts';
import latent from './latent/index.ts';
import model from './model/index.ts';
import runtime from './runtime/index.ts';

/** The plugins that ship with tessera, loaded by the CLI and the server. */
export const builtinPlugins: readonly TesseraPlugin[] = [runtime, core, semalign, metrics, train, mosaic, latent, focusdpo, model];
