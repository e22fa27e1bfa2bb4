import semver from 'semver';
import { PROVIDER_CHOICES, type ProviderChoice } from '../graph/providers.ts';
import type { GraphDocument } from '../graph/GraphDocument.ts';
import { RUN_ID_PATTERN } from '../server/runId.ts';
import { createAjv } from '../util/createAjv.ts';
import { own } from '../util/own.ts';
import { runChoices } from '../server/RunBackend.ts';
import { RUNS_DIR_MARKER } from './names.ts';
import { RUNS_DIR_ID_PATTERN } from './runsDirMarker.ts';

export const RUN_JOB_FORMAT = 'tessera-run-job';
export const RUN_JOB_VERSION = 1;

/**
 * What a BullMQ job carries: data only, never code. The graph (already validated by the server),
 * the run's options, the engine API version it was validated against and the node types it
 * uses, so a worker can refuse what it cannot run before running anything.
 */
export interface RunJob {
  readonly format: typeof RUN_JOB_FORMAT;
  readonly version: typeof RUN_JOB_VERSION;
  readonly runId: string;
  readonly engineVersion: string;
  readonly nodeTypes: readonly string[];
  readonly graph: GraphDocument;
  readonly seed?: number;
  readonly provider?: ProviderChoice;
  readonly targets?: readonly string[];
  readonly useCache?: boolean;
  /** The id in the server's runs folder marker: a worker with another runs folder refuses the job. */
  readonly runsDirId?: string;
  /** Where the server reads run directories (`s3://bucket/prefix`, no credentials) when not from a shared folder: a worker storing elsewhere refuses the job. */
  readonly artifacts?: string;
}

const SCHEMA = {
  type: 'object',
  required: ['format', 'version', 'runId', 'engineVersion', 'nodeTypes', 'graph'],
  properties: {
    format: { const: RUN_JOB_FORMAT },
    version: { const: RUN_JOB_VERSION },
    runId: { type: 'string', pattern: RUN_ID_PATTERN.source },
    engineVersion: { type: 'string', maxLength: 64 },
    nodeTypes: { type: 'array', items: { type: 'string', minLength: 1, maxLength: 200 }, maxItems: 10000 },
    graph: { type: 'object', required: ['nodes'], properties: { nodes: { type: 'object' } } },
    seed: { type: 'integer', minimum: 0, maximum: 4294967295 },
    provider: { enum: PROVIDER_CHOICES },
    targets: { type: 'array', items: { type: 'string', minLength: 1 }, maxItems: 10000 },
    useCache: { type: 'boolean' },
    runsDirId: { type: 'string', pattern: RUNS_DIR_ID_PATTERN.source },
    artifacts: { type: 'string', pattern: '^s3://[a-z0-9]', maxLength: 1100 },
  },
  additionalProperties: false,
} as const;

const validate = createAjv().compile(SCHEMA);

/** The node types a graph uses, sorted (read from own properties only: node ids are user text). */
export function nodeTypesOf(graph: GraphDocument): string[] {
  const types = new Set<string>();
  for (const node of Object.values(graph.nodes)) {
    const type = own(node, 'type');
    if (typeof type === 'string') types.add(type);
  }
  return [...types].sort();
}

/** The job for one run. */
export function runJobOf(run: { runId: string; graph: GraphDocument; seed?: number; provider?: ProviderChoice; targets?: readonly string[]; useCache?: boolean }, engineVersion: string, where: { runsDirId?: string; artifacts?: string } = {}): RunJob {
  return {
    format: RUN_JOB_FORMAT, version: RUN_JOB_VERSION, runId: run.runId, engineVersion, nodeTypes: nodeTypesOf(run.graph), graph: run.graph,
    ...runChoices(run), ...(where.runsDirId !== undefined ? { runsDirId: where.runsDirId } : {}), ...(where.artifacts !== undefined ? { artifacts: where.artifacts } : {}),
  };
}

/**
 * Checks a job's data before anything of it is used: anything but a {@link RunJob} (a foreign
 * producer, another format version, a tampered payload) is refused with the reason.
 */
export function parseRunJob(data: unknown): { job: RunJob } | { error: string } {
  if (!validate(data)) {
    const first = validate.errors?.[0];
    return { error: `not a ${RUN_JOB_FORMAT} v${RUN_JOB_VERSION} payload (${first ? `${first.instancePath || '/'} ${first.message ?? ''}` : 'invalid'})` };
  }
  const job = data as unknown as RunJob;
  if (!semver.valid(job.engineVersion)) return { error: `engineVersion ${JSON.stringify(job.engineVersion)} is not a semver version` };
  // The declared types must be the graph's: a worker decides on them.
  const actual = nodeTypesOf(job.graph);
  if (actual.join('\n') !== [...job.nodeTypes].sort().join('\n')) return { error: 'nodeTypes does not list the node types of the graph' };
  return { job };
}

/** The runs folder a worker writes into, the marker id found there (undefined: none), and the store it uploads runs to (`--artifacts`). */
export interface WorkerRunsDir {
  readonly path: string;
  readonly id: string | undefined;
  readonly artifacts?: string;
}

/**
 * Why this worker cannot run `job` (another engine major version, node types it lacks, a runs
 * folder that is not the server's), or undefined when it can. A refused job is left for another
 * worker, not failed.
 */
export function refusalOf(job: RunJob, engineVersion: string, available: ReadonlySet<string>, runsDir?: WorkerRunsDir): string | undefined {
  if (semver.major(job.engineVersion) !== semver.major(engineVersion)) return `engine ${job.engineVersion} was asked for; this worker has engine ${engineVersion} (another major version)`;
  const missing = job.nodeTypes.filter((t) => !available.has(t));
  if (missing.length) return `this worker lacks node type${missing.length === 1 ? '' : 's'} ${missing.join(', ')} (load the plugin with --plugin)`;
  if (runsDir && job.artifacts !== runsDir.artifacts) {
    return job.artifacts === undefined
      ? `this worker uploads runs to ${runsDir.artifacts}, but the server reads them from its shared runs folder; start the worker without --artifacts, with --runs-dir on that folder`
      : `the server reads runs from ${job.artifacts}; this worker ${runsDir.artifacts === undefined ? 'writes them to its runs folder' : `uploads them to ${runsDir.artifacts}`}: start it with --artifacts ${job.artifacts}`;
  }
  if (runsDir && runsDir.artifacts === undefined && job.runsDirId !== undefined && runsDir.id !== job.runsDirId) {
    return `this worker's runs folder ${runsDir.path} is not the server's shared runs folder (${runsDir.id === undefined ? `it has no ${RUNS_DIR_MARKER}` : `its ${RUNS_DIR_MARKER} names another folder`}); start the worker with --runs-dir pointing at the folder the server writes runs into`;
  }
  return undefined;
}
