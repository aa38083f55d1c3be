// The one shape of every long-running role (STYLE §1, §6): `startX(deps, options)` resolves, once the
// role is running, to `{ state, stop(), done }`. States only move forward:
//   starting -> running -> stopping -> stopped      (stop() called)
//   starting | running  -> failed                   (the role gave up on its own; `failure` says why)
// `stop()` is idempotent and resolves when every resource the role holds is released; `done` resolves
// when the role has ended either way, so a process can wait on any role without polling its state.

export type RoleState = 'starting' | 'running' | 'stopping' | 'stopped' | 'failed';

export interface Role {
  readonly state: RoleState;
  /** Why the role ended on its own (state 'failed'); undefined otherwise. */
  readonly failure: Error | undefined;
  stop(): Promise<void>;
  /** Resolves when the role has stopped or failed (never rejects). */
  readonly done: Promise<void>;
}

export interface Lifecycle {
  readonly state: RoleState;
  /** Marks the role running (after its start-up work). */
  running(): void;
  /** The role cannot go on: runs its release function and ends in 'failed'. */
  fail(err: unknown): Promise<void>;
  /** The role's own members plus `state`, `failure`, `stop` and `done`. */
  role<T extends object>(extra: T): T & Role;
}

/**
 * Tracks one role's state and its one shutdown path. `release` frees what the role holds (consumers,
 * producers, timers, connections); it runs once, whether the role is stopped or fails.
 */
export function createLifecycle(release: () => Promise<void>): Lifecycle {
  let state: RoleState = 'starting';
  let failure: Error | undefined;
  let releasing: Promise<void> | undefined;
  let finish: () => void = () => {};
  const done = new Promise<void>((resolve) => {
    finish = resolve;
  });
  const end = (final: RoleState) => {
    releasing ??= release()
      .catch(() => {})
      .then(() => {
        state = final;
        finish();
      });
    return releasing;
  };
  const lc: Lifecycle = {
    get state() {
      return state;
    },
    running() {
      if (state === 'starting') state = 'running';
    },
    async fail(err) {
      if (state === 'stopped' || state === 'failed') return;
      failure = err instanceof Error ? err : new Error(String(err));
      state = 'stopping';
      await end('failed');
    },
    role<T extends object>(extra: T): T & Role {
      const base = {
        get state() {
          return state;
        },
        get failure() {
          return failure;
        },
        done,
        async stop() {
          if (state !== 'stopped' && state !== 'failed') state = 'stopping';
          await end('stopped');
        },
      };
      return Object.defineProperties(extra, Object.getOwnPropertyDescriptors(base)) as T & Role;
    },
  };
  return lc;
}
