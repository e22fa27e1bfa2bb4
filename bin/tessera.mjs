#!/usr/bin/env node
// Runs the TypeScript sources directly: tessera ships as source and registers tsx's loader first,
// so there is no build step between editing a plugin and running it. register.mjs also maps
// 'tessera' and 'tessera/*' to this engine: the package is named tessera-engine, so a package
// self-reference would not find them when the engine runs from its own folder.
import '../core/loader/register.mjs';

const { main } = await import('../app/main.ts');
process.exitCode = await main(process.argv.slice(2));
