import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormatsModule from 'ajv-formats';

// ajv-formats is CommonJS; under NodeNext its callable export sits on `.default`.
const addFormats = (addFormatsModule as unknown as { default: (ajv: Ajv2020) => void }).default ?? (addFormatsModule as unknown as (ajv: Ajv2020) => void);

/**
 * The project's ajv setup (JSON Schema 2020-12): every error reported, defaults filled in,
 * strict about schema mistakes so a plugin's broken params schema fails at registration.
 */
export function createAjv(options: { useDefaults?: boolean; verbose?: boolean } = {}): Ajv2020 {
  const ajv = new Ajv2020({
    allErrors: true,
    strict: true,
    strictRequired: false,
    strictTypes: false,
    allowUnionTypes: true,
    useDefaults: options.useDefaults ?? false,
    verbose: options.verbose ?? false,
  });
  addFormats(ajv);
  // Editor hints that ride along in params schemas; they have no validation meaning.
  ajv.addKeyword({ keyword: 'x-widget' });
  ajv.addKeyword({ keyword: 'x-step' });
  // Marks a param that names a file or folder: checked against the workspace boundary.
  ajv.addKeyword({ keyword: 'x-path' });
  return ajv;
}
