/**
 * Undo/redo as a list of whole states: each committed edit stores the state after it. Whole
 * states (the graph file plus layout) make every kind of edit undoable the same way — add,
 * delete, link, param, move, paste — without one inverse operation per kind.
 */
export class UndoHistory<T> {
  #past: T[] = [];
  #future: T[] = [];
  #current: T;

  constructor(
    initial: T,
    private readonly same: (a: T, b: T) => boolean,
    /** Oldest states are dropped beyond this many undo steps. */
    private readonly limit = 200,
  ) {
    this.#current = initial;
  }

  get current(): T {
    return this.#current;
  }
  get canUndo(): boolean {
    return this.#past.length > 0;
  }
  get canRedo(): boolean {
    return this.#future.length > 0;
  }

  /** Records a new state; returns false (and records nothing) when it equals the current one. */
  commit(state: T): boolean {
    if (this.same(state, this.#current)) return false;
    this.#past.push(this.#current);
    if (this.#past.length > this.limit) this.#past.shift();
    this.#current = state;
    this.#future = [];
    return true;
  }

  /** The state to go back to, or undefined when there is none. */
  undo(): T | undefined {
    const prev = this.#past.pop();
    if (prev === undefined) return undefined;
    this.#future.push(this.#current);
    this.#current = prev;
    return prev;
  }

  redo(): T | undefined {
    const next = this.#future.pop();
    if (next === undefined) return undefined;
    this.#past.push(this.#current);
    this.#current = next;
    return next;
  }

  /** Starts over from a state (a graph was opened). */
  reset(state: T): void {
    this.#past = [];
    this.#future = [];
    this.#current = state;
  }
}
