/** The BullMQ queue every server and worker of one deployment shares. */
export const QUEUE_NAME = 'tessera-runs';
/** Pub/sub channel: workers publish {@link RemoteMessage}s for the server. */
export const EVENTS_CHANNEL = 'tessera:events';
/** Pub/sub channel: the server publishes `{ runId }` to cancel a run a worker holds. */
export const CANCEL_CHANNEL = 'tessera:cancel';
/** A key that marks a run cancelled before a worker picked it up (`…:<runId>`). */
export const CANCELLED_KEY = 'tessera:cancelled:';
/** The file a server with --queue writes into its runs folder: the folder's id, which every job carries. */
export const RUNS_DIR_MARKER = '.tessera-runs-id';
