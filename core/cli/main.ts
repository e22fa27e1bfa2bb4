import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import { PROVIDER_CHOICES, isProviderChoice, type ProviderChoice } from '../graph/providers.ts';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ValidationIssue } from '../graph/ValidationIssue.ts';

// Only commander is imported up front: each command imports what it needs when it runs, so
// `tessera --help` and `--version` stay fast however large the engine and its plugins grow.
import { EXIT, type CliIo } from './CliIo.ts';
import type { EngineLoader } from './EngineLoader.ts';

export { EXIT, type CliIo };

const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };

/**
 * The `tessera` command line, given how to load its engine (the composition root, app/main.ts,
 * passes the built-ins). Returns the exit code instead of exiting, so tests can call it.
 *
 * @example
 * process.exitCode = await runCli(['run', 'graphs/demo.json', '--seed', '7'], undefined, loadEngine);
 */
export async function runCli(argv: readonly string[], io: CliIo = { stdout: process.stdout, stderr: process.stderr }, loadEngine: EngineLoader): Promise<number> {
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
    .description('Run a graph headless. Exit 0 on success, 1 if a node failed or the run record could not be written, 2 if the graph is invalid or --out holds an earlier run, 130 if cancelled.')
    .argument('<graph>', 'graph file (.json)')
    .option('-s, --set <node.param=value>', 'override a param (repeatable; value parsed as JSON when it can be)', collect, [])
    .option('--seed <n>', 'run seed (default: the graph\'s seed, else 0)', parseSeed)
    .option('--provider <p>', `execution provider for kernel sessions: ${PROVIDER_CHOICES.join(', ')} (default: the graph's \`provider\`, else cpu; a node's own \`provider\` wins; an unavailable one falls back to cpu with one warning)`, parseProvider)
    .option('-o, --out <dir>', 'run directory for outputs (default: runs/<graph>-<time>)')
    .option('--force', 'reuse an --out directory that already holds a run record (its graph.json, events.jsonl and run.json are deleted first)')
    .option('--json', 'print events as JSON lines instead of text')
    .option('--target <node>', 'compute only what this node needs (repeatable)', collect, [])
    .option('--no-cache', 'ignore cached results')
    .option('--allow-outside-workspace', 'let the graph name paths outside the working directory (checkpoints, datasets, weights); off by default, never on in `serve`')
    .action(async (file: string, opts: { set: string[]; seed?: number; provider?: ProviderChoice; out?: string; force?: boolean; allowOutsideWorkspace?: boolean; json?: boolean; target: string[]; cache: boolean }) => {
      const { runCommand } = await import('./runCommand.ts');
      code = await runCommand(file, opts, io, (workspace) => loadEngine({ pluginPaths: plugins(), io, workspace }));
    });

  program
    .command('validate')
    .description('Check graph files without running them; every problem with node id and JSON pointer. Exit 2 if any is invalid.')
    .argument('<graphs...>', 'graph files')
    .option('--json', 'print issues as JSON')
    .option('--allow-outside-workspace', 'let the graph name paths outside the working directory (checkpoints, datasets, weights); off by default, never on in `serve`')
    .action(async (files: string[], opts: { json?: boolean; allowOutsideWorkspace?: boolean }) => {
      const [{ loadGraphFile }, { formatIssue, capIssues, dedupeIssues }] = await Promise.all([import('../graph/loadGraphFile.ts'), import('../graph/ValidationIssue.ts')]);
      const engine = await loadEngine({ pluginPaths: plugins(), io, workspace: { allowOutside: opts.allowOutsideWorkspace === true } });
      const report: { file: string; valid: boolean; issues: ValidationIssue[] }[] = [];
      for (const file of files) {
        let issues: ValidationIssue[];
        try {
          const loaded = await loadGraphFile(file);
          issues = loaded.graph ? [...loaded.issues, ...engine.validate(loaded.graph)] : loaded.issues;
        } catch (error) {
          // Validation is meant to be total; should a bug slip through, the file is still refused
          // with an issue (exit 2), not a stack trace.
          issues = [{ code: 'schema', pointer: '', message: `the validator failed on this file (${(error as Error).message}); please report it` }];
        }
        issues = capIssues(dedupeIssues(issues));
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
      const engine = await loadEngine({ pluginPaths: plugins(), io });
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
      const engine = await loadEngine({ pluginPaths: plugins(), io, quiet: true });
      if (opts.json) io.stdout.write(JSON.stringify(engine.plugins, null, 2) + '\n');
      else
        for (const p of engine.plugins) {
          const mark = p.status === 'loaded' ? '✓' : '✗';
          io.stdout.write(`${mark} ${p.name}@${p.version}  [${p.source}${p.path ? ' ' + p.path : ''}]  ${p.status}${p.nodes.length ? `: ${p.nodes.join(', ')}` : ''}\n`);
          for (const problem of p.problems) io.stdout.write(`    ${problem}\n`);
        }
      code = engine.plugins.every((p) => p.status === 'loaded' && !p.problems.length) ? EXIT.ok : EXIT.nodeFailure;
    });

  const plugin = program.command('plugin').description('Author plugins: scaffold a package, test it, pack it.');
  plugin
    .command('new')
    .description('Create a plugin package (one example node, a test, a tsconfig, a README) with this engine as its devDependency "tessera".')
    .argument('<name>', 'npm package name')
    .option('--dir <dir>', 'target folder (default: ./<name>)')
    .option('--engine <path>', 'engine folder or `npm pack` tarball the plugin installs (default: this engine\'s folder)')
    .action(async (name: string, opts: { dir?: string; engine?: string }) => {
      const { scaffoldPlugin } = await import('../loader/scaffoldPlugin.ts');
      const dir = opts.dir ?? name.replace(/^@[^/]+\//, '');
      try {
        const files = await scaffoldPlugin(name, dir, fileURLToPath(new URL('../../', import.meta.url)), opts.engine === undefined ? undefined : { engine: resolve(opts.engine) });
        io.stdout.write(`created ${resolve(dir)}\n${files.map((f) => '  ' + f).join('\n')}\nnext: cd ${dir} && npm install && npm test\n`);
      } catch (error) {
        io.stderr.write(`error: ${(error as Error).message}\n`);
        code = EXIT.invalid;
      }
    });
  plugin
    .command('test')
    .description("Type-check a plugin (tsc with its tsconfig.json), then run its uvu tests (test/**/*.test.ts) with 'tessera' imports resolved to this engine. Fails when no test ran.")
    .argument('[dir]', 'plugin folder', '.')
    .option('--no-typecheck', 'skip the type-check')
    .action(async (dir: string, opts: { typecheck: boolean }) => {
      const { runPluginTests } = await import('../loader/runPluginTests.ts');
      code = await runPluginTests(resolve(dir), io, { typecheck: opts.typecheck });
    });
  plugin
    .command('pack')
    .description('Check a plugin (manifest, type-check, tests), then `npm pack` it into a tarball that projects install.')
    .argument('[dir]', 'plugin folder', '.')
    .option('--out <dir>', 'folder for the tarball (default: the plugin folder)')
    .action(async (dir: string, opts: { out?: string }) => {
      const { packPlugin } = await import('../loader/packPlugin.ts');
      code = await packPlugin(resolve(dir), io, opts.out === undefined ? undefined : resolve(opts.out));
    });

  program
    .command('serve')
    .description('Serve the HTTP/WebSocket API and the visual editor. Binds loopback by default; any other address requires a token.')
    .option('--host <host>', 'address to bind', '127.0.0.1')
    .option('-p, --port <n>', 'port (0 = any free port)', (v) => Number(v), 8188)
    .option('--token <token>', 'access token every request must carry (default: $TESSERA_TOKEN)')
    .option('--concurrency <n>', 'runs executed at once from the queue', (v) => Number(v), 1)
    .option('--workspace <dir>', 'folder whose graphs and files the editor may open, and that every path a graph names must stay inside', '.')
    .option('--run-timeout <s>', 'wall-time limit of one run in seconds (0 = none)', (v) => Number(v), 0)
    .option('--run-memory-mb <n>', 'stop running runs when the server process RSS exceeds this many MiB (0 = none)', (v) => Number(v), 0)
    .option('--queue <redis-url>', 'hand runs to `tessera worker`s through this Redis (BullMQ) instead of running them here (docs/scale-out.md)')
    .option('--insecure-redis', 'allow a --queue Redis beyond loopback without password or TLS (a private network)')
    .option('--redis-ca <file>', 'PEM file of the CA that signed the rediss:// Redis\'s certificate (the password: in the URL or $TESSERA_REDIS_PASSWORD)')
    .option('--artifacts <s3-url>', 'read runs and sweeps stored in s3://bucket/prefix by workers and other servers; without --queue, upload the runs executed here (credentials: the AWS_* environment; docs/scale-out.md)')
    .option('--s3-endpoint <url>', 'an S3-compatible server for --artifacts (path-style; default $AWS_ENDPOINT_URL_S3 or AWS)')
    .action(async (opts: { host: string; port: number; token?: string; concurrency: number; workspace: string; runTimeout: number; runMemoryMb: number; queue?: string; insecureRedis?: boolean; redisCa?: string; artifacts?: string; s3Endpoint?: string }) => {
      const { serveCommand } = await import('../server/serveCommand.ts');
      // Same plugins as `run` (built-ins, config, --plugin, node_modules), loaded only once the options are fine.
      code = await serveCommand({ ...opts, token: opts.token ?? process.env.TESSERA_TOKEN, redisPassword: process.env.TESSERA_REDIS_PASSWORD, engine: () => loadEngine({ pluginPaths: plugins(), io }) }, io);
    });

  program
    .command('worker')
    .description('Run jobs from a `tessera serve --queue` Redis queue with this machine\'s engine and plugins (docs/scale-out.md).')
    .requiredOption('--queue <redis-url>', 'the Redis the server queues runs in, e.g. redis://127.0.0.1:6379')
    .option('--concurrency <n>', 'runs executed at once', (v) => Number(v), 1)
    .option('--runs-dir <dir>', 'the server\'s runs folder, shared with it (artifacts are written to <dir>/<runId>/)', 'runs')
    .option('--lock-ms <ms>', 'job lock and stalled-job check interval: how soon the job of a dead worker is retried', (v) => Number(v), 30_000)
    .option('--insecure-redis', 'allow a Redis beyond loopback without password or TLS (a private network)')
    .option('--redis-ca <file>', 'PEM file of the CA that signed the rediss:// Redis\'s certificate (the password: in the URL or $TESSERA_REDIS_PASSWORD)')
    .option('--artifacts <s3-url>', 'upload each run directory to s3://bucket/prefix when it ends (--runs-dir is then this machine\'s own; credentials: the AWS_* environment)')
    .option('--s3-endpoint <url>', 'an S3-compatible server for --artifacts (path-style; default $AWS_ENDPOINT_URL_S3 or AWS)')
    .option('--artifacts-sync-s <s>', 'while a run goes on, upload its changed files (checkpoints) this often; 0: only when it ends', (v) => Number(v), 30)
    .action(async (opts: { queue: string; concurrency: number; runsDir: string; lockMs: number; insecureRedis?: boolean; redisCa?: string; artifacts?: string; s3Endpoint?: string; artifactsSyncS: number }) => {
      const { workerCommand } = await import('../queue/workerCommand.ts');
      code = await workerCommand({ ...opts, redisPassword: process.env.TESSERA_REDIS_PASSWORD, engine: () => loadEngine({ pluginPaths: plugins(), io }) }, io);
    });

  program
    .command('sweep')
    .description('Run a graph once per grid cell and seed, and write one table of every run\'s status and scalar outputs (sweep.json, sweep.md). Re-running resumes: finished cells are kept. Exit 0 if every run is done, 1 if one is not, 2 if the graph or grid is invalid (docs/scale-out.md).')
    .argument('<graph>', 'graph file (.json)')
    .option('--grid <node.param=a,b,c>', 'a param and its values (repeatable; values parsed as JSON when they can be; commas inside [], {} or "" do not split)', collect, [])
    .option('--seeds <list>', 'run seeds, e.g. 0,1,2 (default: the graph\'s seed, else 0)')
    .option('-o, --out <dir>', 'sweep folder for the table (and runs/ unless --server); default sweeps/<graph>')
    .option('--server <url>', 'submit the runs to this running `tessera serve`')
    .option('--token <token>', 'the --server token (default: $TESSERA_TOKEN)')
    .option('--queue <redis-url>', 'hand the runs to `tessera worker`s through this Redis (BullMQ)')
    .option('--insecure-redis', 'allow a --queue Redis beyond loopback without password or TLS (a private network)')
    .option('--redis-ca <file>', 'PEM file of the CA that signed the rediss:// Redis\'s certificate (the password: in the URL or $TESSERA_REDIS_PASSWORD)')
    .option('--runs-dir <dir>', 'run folders, shared with the workers under --queue (default <out>/runs)')
    .option('--artifacts <s3-url>', 'with --queue: the runs go to workers started with the same --artifacts, and the table to s3://bucket/prefix/sweeps/<id>/ (docs/scale-out.md)')
    .option('--s3-endpoint <url>', 'an S3-compatible server for --artifacts (path-style; default $AWS_ENDPOINT_URL_S3 or AWS)')
    .option('--concurrency <n>', 'runs executed at once in this process (default 1); with --server, runs submitted and polled at once (default 4)', (v) => Number(v))
    .action(async (file: string, opts: { grid: string[]; seeds?: string; out?: string; server?: string; token?: string; queue?: string; insecureRedis?: boolean; redisCa?: string; runsDir?: string; concurrency?: number; artifacts?: string; s3Endpoint?: string }) => {
      const { sweepCommand } = await import('../sweep/sweepCommand.ts');
      code = await sweepCommand(file, { ...opts, token: opts.token ?? process.env.TESSERA_TOKEN, redisPassword: process.env.TESSERA_REDIS_PASSWORD, engine: () => loadEngine({ pluginPaths: plugins(), io }) }, io);
    });

  program.addOption(new Option('--no-color', 'disable colors').hideHelp());

  try {
    await program.parseAsync(argv, { from: 'user' });
  } catch (error) {
    if (error instanceof CommanderError) {
      return error.code === 'commander.helpDisplayed' || error.code === 'commander.version' || error.code === 'commander.help' ? EXIT.ok : EXIT.invalid;
    }
    // A message, not a stack: the stack helps only whoever debugs tessera (TESSERA_DEBUG=1).
    io.stderr.write(`error: ${process.env.TESSERA_DEBUG ? ((error as Error).stack ?? error) : ((error as Error).message ?? error)}\n`);
    return EXIT.nodeFailure;
  }
  return code;
}

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

function parseProvider(value: string): ProviderChoice {
  if (!isProviderChoice(value)) throw new InvalidArgumentError(`must be one of ${PROVIDER_CHOICES.join(', ')}`);
  return value;
}

function parseSeed(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 4294967295) throw new InvalidArgumentError('must be an integer in 0..4294967295');
  return n;
}
