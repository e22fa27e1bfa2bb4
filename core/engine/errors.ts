/** A node could not run because something it reads from did not produce a value. */
export class UpstreamFailure extends Error {
  readonly nodeId: string;
  readonly reason: 'failed' | 'skipped' | 'disabled' | 'cancelled';
  constructor(nodeId: string, reason: UpstreamFailure['reason']) {
    super(`upstream node "${nodeId}" ${reason}`);
    this.name = 'UpstreamFailure';
    this.nodeId = nodeId;
    this.reason = reason;
  }
}

/** The run was cancelled (unsubscribe or AbortSignal). */
export class RunCancelled extends Error {
  constructor() {
    super('run cancelled');
    this.name = 'RunCancelled';
  }
}

/** A node broke its own contract (missing output, wrong return type). */
export class NodeContractError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'NodeContractError';
  }
}
