#!/usr/bin/env node
// Runs the TypeScript sources directly: tessera ships as source and registers tsx's loader first,
// so there is no build step between editing a plugin and running it.
import '../core/loader/preloadDependencies.mjs';
import { register } from 'tsx/esm/api';

register();
const { main } = await import('../app/main.ts');
process.exitCode = await main(process.argv.slice(2));
