import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import { readFileSync } from 'node:fs';
import { join, resolve, basename } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Engine } from '../engine/Engine.ts';
import { createEngine } from '../engine/Engine.ts';
import { loadGraphFile } from '../graph/loadGraphFile.ts';
import { applyOverrides } from '../graph/applyOverrides.ts';
import { formatIssue, type ValidationIssue } from '../graph/ValidationIssue.ts';
import type { GraphDocument } from '../graph/GraphDocument.ts';
import type { ExecutionEvent } from '../engine/events.ts';
import { formatEvent } from './formatEvent.ts';
import { TtyProgress } from './TtyProgress.ts';
import { toWireValue } from '../util/summarizeValue.ts';
import { writeFileAtomic } from '../util/writeFileAtomic.ts';

/** Exit codes: 0 success, 1 a node failed, 2 invalid graph or usage, 130 cancelled (Ctrl-C). */
export const EXIT = { ok: 0, nodeFailure: 1, invalid: 2, cancelled: 130 } as const;

const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };

/** Where the CLI writes; tests pass their own. */
export interface CliIo {
  stdout: NodeJS.WritableStream & { isTTY?: boolean; columns?: number };
  stderr: NodeJS.WritableStream;
}

/**
 * Loads the engine with the built-in plugins plus those found in tessera.config.json, `--plugin`
 * folders and node_modules. Only commands that need it call this, so `--help` stays fast.
 */
async function loadEngine(pluginPaths: readonly string[], io: CliIo, quiet = false): Promise<Engine> {
  const { builtinPlugins } = await import('../../plugins/index.ts');
  const { discoverPlugins } = await import('../loader/discoverPlugins.ts');
  const { loadPlugins } = await import('../loader/loadPlugins.ts');
  const engine = await createEngine({ plugins: builtinPlugins });
  await loadPlugins(engine, discoverPlugins({ cwd: process.cwd(), paths: pluginPaths }));
  if (!quiet) for (const p of engine.plugins) if (p.status !== 'loaded' || p.problems.length) io.stderr.write(`warning: plugin ${p.name} ${p.status === 'loaded' ? 'loaded with problems' : p.status}: ${p.problems.join('; ')}\n`);
  return engine;
}

/**
 * The `tessera` command line. Returns the exit code instead of exiting, so tests can call it.
 *
 * @example
 * process.exitCode = await main(['run', 'graphs/demo.json', '--seed', '7']);
 */
export async function main(argv: readonly string[], io: CliIo = { stdout: process.stdout, stderr: process.stderr }): Promise<number> {
  let code: number = EXIT.ok;
  const program = new Command('tessera')
    .description('Node-graph pipelines for multi-subject personalized image generation research.')
    .version(pkg.version, '-v, --version')
    .exitOverride()
    .configureOutput({ writeOut: (s) => io.stdout.write(s), writeErr: (s) => io.stderr.write(s) })
    .showHelpAfterError('(run with --help for usage)')
    .option('--plugin <dir>', 'load a plugin folder (repeatable; also read: tessera.config.json, node_modules)', collect, []);
  const plugins = () => (program.opts() as { plugin: string[] }).plugin;

  program
    .command('run')
    .description('Run a graph headless. Exit 0 on success, 1 if a node failed, 2 if the graph is invalid, 130 if cancelled.')
    .argument('<graph>', 'graph file (.json)')
    .option('-s, --set <node.param=value>', 'override a param (repeatable; value parsed as JSON when it can be)', collect, [])
    .option('--seed <n>', 'run seed (default: the graph\'s seed, else 0)', parseSeed)
    .option('-o, --out <dir>', 'run directory for outputs (default: runs/<graph>-<time>)')
    .option('--json', 'print events as JSON lines instead of text')
    .option('--target <node>', 'compute only what this node needs (repeatable)', collect, [])
    .option('--no-cache', 'ignore cached results')
    .action(async (file: string, opts: { set: string[]; seed?: number; out?: string; json?: boolean; target: string[]; cache: boolean }) => {
      code = await runCommand(file, opts, io, plugins());
    });

  program
    .command('validate')
    .description('Check graph files without running them; every problem with node id and JSON pointer. Exit 2 if any is invalid.')
    .argument('<graphs...>', 'graph files')
    .option('--json', 'print issues as JSON')
    .action(async (files: string[], opts: { json?: boolean }) => {
      const engine = await loadEngine(plugins(), io);
      const report: { file: string; valid: boolean; issues: ValidationIssue[] }[] = [];
      for (const file of files) {
        const { graph, issues } = await loadGraphFile(file);
        if (graph) issues.push(...engine.validate(graph));
        report.push({ file, valid: issues.length === 0, issues });
      }
      if (opts.json) io.stdout.write(JSON.stringify(report, null, 2) + '\n');
      else for (const r of report) io.stdout.write(r.valid ? `${r.file}: ok\n` : `${r.file}: ${r.issues.length} problem${r.issues.length === 1 ? '' : 's'}\n${r.issues.map((i) => '  ' + formatIssue(i)).join('\n')}\n`);
      code = report.every((r) => r.valid) ? EXIT.ok : EXIT.invalid;
    });

  program
    .command('nodes')
    .description('List every registered node type (with --json: the full definitions the editor reads).')
    .option('--json', 'print definitions as JSON')
    .action(async (opts: { json?: boolean }) => {
      const engine = await loadEngine(plugins(), io);
      const defs = engine.describeNodes();
      if (opts.json) io.stdout.write(JSON.stringify(defs, null, 2) + '\n');
      else {
        const width = Math.max(...defs.map((d) => d.type.length));
        for (const d of defs) {
          const ins = Object.entries(d.inputs).map(([k, v]) => `${k}:${v.type}${v.optional ? '?' : ''}${v.list ? '[]' : ''}${v.stream ? '~' : ''}`).join(' ');
          const outs = Object.entries(d.outputs).map(([k, v]) => `${k}:${v.type}${v.stream ? '~' : ''}`).join(' ');
          io.stdout.write(`${d.type.padEnd(width)}  (${ins}) → (${outs})  ${d.description}\n`);
        }
      }
    });

  program
    .command('plugins')
    .description('List plugins: what loaded, from where, with which node types; what was refused or failed, and why.')
    .option('--json', 'print records as JSON')
    .action(async (opts: { json?: boolean }) => {
      const engine = await loadEngine(plugins(), io, true);
      if (opts.json) io.stdout.write(JSON.stringify(engine.plugins, null, 2) + '\n');
      else
        for (const p of engine.plugins) {
          const mark = p.status === 'loaded' ? '✓' : '✗';
          io.stdout.write(`${mark} ${p.name}@${p.version}  [${p.source}${p.path ? ' ' + p.path : ''}]  ${p.status}${p.nodes.length ? `: ${p.nodes.join(', ')}` : ''}\n`);
          for (const problem of p.problems) io.stdout.write(`    ${problem}\n`);
        }
      code = engine.plugins.every((p) => p.status === 'loaded' && !p.problems.length) ? EXIT.ok : EXIT.nodeFailure;
    });

  const plugin = program.command('plugin').description('Author plugins: scaffold a package, run its tests.');
  plugin
    .command('new')
    .description('Create a plugin package with one example node, a test that runs it through the engine, and a README.')
    .argument('<name>', 'npm package name')
    .option('--dir <dir>', 'target folder (default: ./<name>)')
    .action(async (name: string, opts: { dir?: string }) => {
      const { scaffoldPlugin } = await import('../loader/scaffoldPlugin.ts');
      const dir = opts.dir ?? name.replace(/^@[^/]+\//, '');
      try {
        const files = await scaffoldPlugin(name, dir, fileURLToPath(new URL('../../', import.meta.url)));
        io.stdout.write(`created ${resolve(dir)}\n${files.map((f) => '  ' + f).join('\n')}\nnext: cd ${dir} && npm test\n`);
      } catch (error) {
        io.stderr.write(`error: ${(error as Error).message}\n`);
        code = EXIT.invalid;
      }
    });
  plugin
    .command('test')
    .description("Run a plugin's uvu tests (test/**/*.test.ts) with TypeScript and 'tessera' imports resolved to this engine.")
    .argument('[dir]', 'plugin folder', '.')
    .action(async (dir: string) => {
      const { runPluginTests } = await import('../loader/runPluginTests.ts');
      code = await runPluginTests(resolve(dir), io);
    });

  program
    .command('serve')
    .description('Serve the HTTP/WebSocket API and the visual editor. Binds loopback by default; any other address requires a token.')
    .option('--host <host>', 'address to bind', '127.0.0.1')
    .option('-p, --port <n>', 'port (0 = any free port)', (v) => Number(v), 8188)
    .option('--token <token>', 'access token every request must carry (default: $TESSERA_TOKEN)')
    .option('--concurrency <n>', 'runs executed at once from the queue', (v) => Number(v), 1)
    .option('--workspace <dir>', 'folder whose graphs and files the editor may open', '.')
    .action(async (opts: { host: string; port: number; token?: string; concurrency: number; workspace: string }) => {
      const { serveCommand } = await import('../server/serveCommand.ts');
      // Same plugins as `run` (built-ins, config, --plugin, node_modules), loaded only once the options are fine.
      code = await serveCommand({ ...opts, token: opts.token ?? process.env.TESSERA_TOKEN, engine: () => loadEngine(plugins(), io) }, io);
    });

  program.addOption(new Option('--no-color', 'disable colors').hideHelp());

  try {
    await program.parseAsync(argv, { from: 'user' });
  } catch (error) {
    if (error instanceof CommanderError) {
      return error.code === 'commander.helpDisplayed' || error.code === 'commander.version' || error.code === 'commander.help' ? EXIT.ok : EXIT.invalid;
    }
    io.stderr.write(`error: ${(error as Error).stack ?? error}\n`);
    return EXIT.nodeFailure;
  }
  return code;
}

async function runCommand(file: string, opts: { set: string[]; seed?: number; out?: string; json?: boolean; target: string[]; cache: boolean }, io: CliIo, pluginPaths: readonly string[]): Promise<number> {
  const loaded = await loadGraphFile(file);
  let issues = [...loaded.issues];
  let graph = loaded.graph;
  if (graph && opts.set.length) {
    const o = applyOverrides(graph, opts.set);
    graph = o.graph;
    issues.push(...o.issues);
  }
  const engine = await loadEngine(pluginPaths, io);
  if (graph) issues.push(...engine.validate(graph));
  for (const t of opts.target) if (graph && !graph.nodes?.[t]) issues.push({ code: 'invalid_override', pointer: '', message: `--target: no node "${t}" in the graph` });
  issues = dedupeIssues(issues);
  if (issues.length || !graph) {
    if (opts.json) io.stdout.write(JSON.stringify({ type: 'run:invalid', file, issues }) + '\n');
    io.stderr.write(`${file}: graph is invalid (${issues.length} problem${issues.length === 1 ? '' : 's'})\n${issues.map((i) => '  ' + formatIssue(i)).join('\n')}\n`);
    return EXIT.invalid;
  }
  const outDir = resolve(opts.out ?? join('runs', `${basename(file).replace(/\.json$/, '')}-${new Date().toISOString().replace(/[:.]/g, '-')}`));
  const controller = new AbortController();
  const onSigint = () => {
    if (controller.signal.aborted) process.exit(EXIT.cancelled);
    io.stderr.write('\ncancelling… (Ctrl-C again to quit at once)\n');
    controller.abort();
  };
  process.on('SIGINT', onSigint);
  process.on('SIGTERM', onSigint);
  const tty = !opts.json && io.stdout.isTTY ? new TtyProgress(io.stdout as NodeJS.WriteStream) : undefined;
  const deciles = new Map<string, number>();
  const events: ExecutionEvent[] = [];
  let last: ExecutionEvent | undefined;
  try {
    await new Promise<void>((done, fail) => {
      engine.run(graph as GraphDocument, { ...(opts.seed !== undefined ? { seed: opts.seed } : {}), outDir, targets: opts.target, useCache: opts.cache, signal: controller.signal }).subscribe({
        next: (e) => {
          last = e;
          events.push(e);
          if (opts.json) io.stdout.write(JSON.stringify(toWireValue(e)) + '\n');
          else if (tty) tty.handle(e);
          else {
            const line = formatEvent(e, deciles);
            if (line !== undefined) io.stdout.write(line + '\n');
          }
        },
        error: fail,
        complete: done,
      });
    });
  } finally {
    tty?.stop();
    process.off('SIGINT', onSigint);
    process.off('SIGTERM', onSigint);
  }
  await writeRunRecord(outDir, file, graph, events);
  if (last?.type === 'run:done') return EXIT.ok;
  if (last?.type === 'run:cancelled') return EXIT.cancelled;
  return EXIT.nodeFailure;
}

/** Leaves the graph as run, every event, and a summary next to the outputs, for later inspection. */
async function writeRunRecord(outDir: string, file: string, graph: GraphDocument, events: ExecutionEvent[]): Promise<void> {
  const last = events[events.length - 1];
  await writeFileAtomic(join(outDir, 'graph.json'), JSON.stringify(graph, null, 2) + '\n');
  await writeFileAtomic(join(outDir, 'events.jsonl'), events.map((e) => JSON.stringify(toWireValue(e))).join('\n') + '\n');
  await writeFileAtomic(join(outDir, 'run.json'), JSON.stringify(toWireValue({ file, status: last?.type, runId: last?.runId, ...(last?.type === 'run:done' ? { results: last.results } : {}), ...(last?.type === 'run:failed' ? { errors: last.errors } : {}) }), null, 2) + '\n');
}

function dedupeIssues(issues: ValidationIssue[]): ValidationIssue[] {
  const seen = new Set<string>();
  return issues.filter((i) => {
    const k = `${i.code}\0${i.pointer}\0${i.message}`;
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  });
}

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

function parseSeed(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 4294967295) throw new InvalidArgumentError('must be an integer in 0..4294967295');
  return n;
}
