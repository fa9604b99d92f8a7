/**
 * The allocator: the single owner (and only writer) of the global {@link Ledger}.
 *
 * RESERVE / RELEASE / EXPIRE / RESIZE / AGENT_LOST are handled one event at a time — XState processes an
 * actor's events sequentially — so the check ("does it fit?") and the act ("take it") happen inside
 * one event and no interleaving can over-allocate.
 *
 * **Replies.** Every request carries a `requestId`; the answer is an *emitted* event
 * (`actor.on('allocator.result', …)`) carrying that id. Emitted events are delivered synchronously
 * while the event is processed, so a runtime that calls `actor.send(RESERVE)` from outside any actor
 * has its answer when `send` returns: one event, no promise, no mailbox round trip. Sent from inside
 * another actor's handler, the event is queued and answered after that handler — dispatch answers by
 * `requestId`, never by "the last one". Every release, whatever caused it, is also emitted as
 * `allocator.released` (for metrics, the rebalancer's history and the exactly-once property test).
 *
 * **States.** `open` serves everything; `CLOSE` moves to `closing`, which refuses new reservations and
 * waits for live allocations to be released (or the `closeDeadline` to pass, which releases them all);
 * `closed` is final.
 *
 * **The ledger lives in context as plain JSON data** (a {@link LedgerState}: limits with unlimited
 * resources left out, live allocations as a record by id — no `Infinity`, typed arrays, Maps or class
 * instances), so every snapshot survives `JSON.parse(JSON.stringify(…))` unchanged and can be
 * inspected or persisted. Actions work on it through `Ledger.over(state)`, a view that reads and writes
 * the state in place. Copying it per event would cost O(allocations) and break the acquire path's
 * budget; as the one writer, the actor mutates it in place and bumps `context.version` so subscribers
 * see a new snapshot. The mutation runs when the transition is resolved (inside `enqueueActions`),
 * exactly like an `assign`. Consequence: old snapshots are not values — serialise a snapshot when you
 * take it (`getPersistedSnapshot()`), do not keep the object and read it later.
 *
 * Actions never throw: validation errors from the ledger are caught and answered as
 * `{ ok: false, error }` results.
 *
 * Over 400 lines because the ledger's one writer answers every request kind (reserve, release, expire,
 * resize, agent lost, quotas, pressure, close) in one chart: split, the graph checker could no longer
 * walk their interleavings (a quota change between a reserve and its release).
 */
import { enqueueActions, setup } from 'xstate';
import { type AgentPoolError, makeError } from '../src/core/errors.js';
import {
  type AllocationPolicyConfig,
  DEFAULT_ALLOCATION_POLICY,
  decideGrant,
  ledgerNumbers,
} from '../src/policies/allocation.js';
import {
  type Allocation,
  cloneLedgerState,
  Ledger,
  type LedgerState,
  type Refusal,
  type ResizeChange,
  type ResourceAmounts,
} from '../src/structures/ledger.js';

/** Input to {@link allocatorMachine}. */
export interface AllocatorInput {
  /**
   * The ledger to own. Build it with `new Ledger(config)` at the boundary (it validates the config); a
   * `Ledger` is owned through its `state`, which the actor then writes in place (so the passed
   * `Ledger` keeps showing the live numbers). A {@link LedgerState} (e.g. from a persisted snapshot) is
   * owned as is. A factory is called once per actor — what verification and tests use so that every
   * actor created from the same input gets its own ledger.
   */
  ledger: Ledger | LedgerState | (() => Ledger | LedgerState);
  /**
   * Copy the ledger before each change so every snapshot is an independent value (O(allocations) per
   * event). Off on the hot path; on for graph traversal, which branches from old snapshots.
   * @default false
   */
  copyOnWrite?: boolean;
  /** Allocation optimisation; `undefined` uses {@link DEFAULT_ALLOCATION_POLICY}. */
  policy?: AllocationPolicyConfig;
  /** How long `closing` waits for releases before releasing everything. @default 30000 */
  closeDeadlineMs?: number;
}

/** Context of {@link allocatorMachine}. */
export interface AllocatorContext {
  /** The ledger's plain-data state; read it with `Ledger.over(context.ledger)`. */
  ledger: LedgerState;
  copyOnWrite: boolean;
  policy: AllocationPolicyConfig;
  closeDeadlineMs: number;
  /** Bumped on every ledger change so each change is a new snapshot. */
  version: number;
  /** Reservations granted so far. */
  reserved: number;
  /** Allocations released so far (any cause). */
  releasedCount: number;
  /** Requests refused so far (does not fit now, or invalid). */
  refused: number;
  /**
   * Demand a group's quota turned away since the last TAKE_PRESSURE, per group per resource: the
   * largest refused request plus what the group held then. The resource scaler reads it as usage, so a
   * pool whose quota is full (or 0) still shows the demand that would grow it.
   */
  pressure: Record<string, Record<string, number>>;
}

/** Why an allocation was released. */
export type ReleaseCause = 'released' | 'expired' | 'agent-lost' | 'closed';

/** Events {@link allocatorMachine} accepts. */
export type AllocatorEvent =
  | {
      type: 'RESERVE';
      requestId: string;
      /** Allocation id to use; generated when omitted. */
      allocationId?: string;
      /** Holder: agent id (AGENT_LOST releases by it). */
      owner?: string;
      /** Quota group (a pool's type): the grant must also fit that group's quotas (SET_QUOTA). */
      group?: string;
      /** What the caller asks for; the policy decides the grant. */
      request: ResourceAmounts;
      /** The least the caller can work with (a squeeze stops there). */
      minimum?: ResourceAmounts;
      /** Grant exactly as asked (all resources, or the listed ones). */
      exact?: boolean | readonly string[];
    }
  | { type: 'RELEASE'; allocationId: string; requestId?: string }
  | { type: 'EXPIRE'; allocationId: string; requestId?: string }
  | { type: 'RESIZE'; requestId: string; allocationId: string; change: ResizeChange }
  | { type: 'AGENT_LOST'; owner: string }
  /**
   * Set a group's quota on one resource (`amount` undefined removes it). Refused — answered
   * `{ ok: false, held }`, nothing changed — when the group already holds more than `amount`.
   */
  | { type: 'SET_QUOTA'; requestId: string; group: string; resource: string; amount: number | undefined }
  /** Answer `pressure` (op `pressure`) and start collecting it afresh. */
  | { type: 'TAKE_PRESSURE'; requestId: string }
  | { type: 'CLOSE' };

/** The answer to one request, emitted as `allocator.result`. */
export type AllocatorResult =
  | {
      type: 'allocator.result';
      requestId: string;
      op: 'reserve' | 'resize';
      ok: true;
      allocation: Allocation;
    }
  | { type: 'allocator.result'; requestId: string; op: 'reserve' | 'resize'; ok: false; reason: Refusal }
  | {
      type: 'allocator.result';
      requestId: string;
      op: 'reserve' | 'resize' | 'release';
      ok: false;
      /** A request that can never succeed (validation, unknown id, closing). */
      error: AgentPoolError | Error;
    }
  | {
      type: 'allocator.result';
      requestId: string;
      op: 'release';
      ok: true;
      /** False when the allocation was already released (or never existed): a no-op. */
      released: boolean;
    }
  | {
      type: 'allocator.result';
      requestId: string;
      op: 'quota';
      ok: boolean;
      /** What the group holds of the resource (why a lowering was refused). */
      held?: number;
      /** A request that can never succeed (unknown resource, bad amount). */
      error?: AgentPoolError | Error;
    }
  | {
      type: 'allocator.result';
      requestId: string;
      op: 'pressure';
      ok: true;
      pressure: Record<string, Record<string, number>>;
    };

/** Emitted once per allocation when it is released, whatever the cause. */
export interface AllocatorReleased {
  type: 'allocator.released';
  allocationId: string;
  owner: string | undefined;
  amounts: ResourceAmounts;
  cause: ReleaseCause;
}

/** Everything {@link allocatorMachine} emits. */
export type AllocatorEmitted = AllocatorResult | AllocatorReleased;

type Ctx = AllocatorContext;

/** The ledger an action may write: the live one, or a fresh copy in copy-on-write mode. */
function writable(ctx: Ctx): Ledger {
  return Ledger.over(ctx.copyOnWrite ? cloneLedgerState(ctx.ledger) : ctx.ledger);
}

/** The state a ledger input stands for. */
function stateOf(l: Ledger | LedgerState): LedgerState {
  return l instanceof Ledger ? l.state : l;
}

function errorOf(e: unknown): Error {
  return e instanceof Error ? e : new Error(String(e));
}

/**
 * Run one ledger write of a reserve/resize request and phrase the answer: the allocation, the refusal
 * naming the resource, or the error (a request that can never succeed). Never throws.
 */
function answer(
  requestId: string,
  op: 'reserve' | 'resize',
  write: () => { ok: true; allocation: Allocation } | { ok: false; reason: Refusal },
): AllocatorResult {
  // Literals, not `{ ...base, … }`: a spread followed by more properties costs µs per object on
  // Node 20 (V8 11.3), and this runs for every reservation.
  const type = 'allocator.result';
  try {
    const r = write();
    return r.ok
      ? { type, requestId, op, ok: true, allocation: r.allocation }
      : { type, requestId, op, ok: false, reason: r.reason };
  } catch (e) {
    return { type, requestId, op, ok: false, error: errorOf(e) };
  }
}

/** Release one id; returns the emitted events (0 or 1). Never throws. */
function releaseOne(ledger: Ledger, id: string, cause: ReleaseCause): AllocatorReleased | undefined {
  const r = ledger.release(id);
  if (!r.released) return undefined;
  return {
    type: 'allocator.released',
    allocationId: id,
    owner: r.allocation.owner,
    amounts: r.allocation.amounts,
    cause,
  };
}

/**
 * The allocator statechart.
 *
 * @example
 * ```ts
 * const allocator = createActor(allocatorMachine, { input: { ledger: new Ledger({ limits }) } }).start();
 * const pending = new Map<string, (r: AllocatorResult) => void>();
 * allocator.on('allocator.result', (r) => { pending.get(r.requestId)?.(r); pending.delete(r.requestId); });
 * allocator.send({ type: 'RESERVE', requestId: 'r1', owner: 'agent-1', request: { memoryMb: 1024 } });
 * ```
 */
export const allocatorMachine = setup({
  types: {
    context: {} as AllocatorContext,
    events: {} as AllocatorEvent,
    input: {} as AllocatorInput,
    emitted: {} as AllocatorEmitted,
  },
  actions: {
    /** Decide the grant, reserve it, answer. One event, O(resources). */
    reserve: enqueueActions(({ context, event, enqueue }) => {
      if (event.type !== 'RESERVE') return;
      const ledger = writable(context);
      const result = answer(event.requestId, 'reserve', () => {
        // The policy needs five O(resources) views of the ledger; skip them when it is off.
        const amounts = context.policy.enabled
          ? decideGrant(
              {
                requested: event.request,
                ...(event.minimum === undefined ? {} : { minimum: event.minimum }),
                ...(event.exact === undefined ? {} : { exact: event.exact }),
              },
              ledgerNumbers(ledger),
              context.policy,
            ).amounts
          : event.request;
        return ledger.reserve({
          amounts:
            event.group === undefined ? amounts : withinQuota(ledger, event.group, amounts, event.request),
          ...(event.allocationId === undefined ? {} : { id: event.allocationId }),
          ...(event.owner === undefined ? {} : { owner: event.owner }),
          ...(event.group === undefined ? {} : { group: event.group }),
        });
      });
      const pressure =
        event.group !== undefined && !result.ok && 'reason' in result && result.reason.scope === 'quota'
          ? addPressure(
              context.pressure,
              event.group,
              result.reason.resource,
              ledger,
              result.reason.requested,
            )
          : context.pressure;
      const update = counted(context, result, 0);
      update.ledger = ledger.state;
      update.pressure = pressure;
      enqueue.assign(update);
      enqueue.emit(result);
    }),
    /** Hand over the quota pressure collected since the last take, and start afresh. */
    takePressure: enqueueActions(({ context, event, enqueue }) => {
      if (event.type !== 'TAKE_PRESSURE') return;
      enqueue.assign({ pressure: {} });
      enqueue.emit({
        type: 'allocator.result',
        requestId: event.requestId,
        op: 'pressure',
        ok: true,
        pressure: context.pressure,
      });
    }),
    /** Release (RELEASE / EXPIRE): exactly once; a repeat answers `released: false`. */
    release: enqueueActions(({ context, event, enqueue }) => {
      if (event.type !== 'RELEASE' && event.type !== 'EXPIRE') return;
      const ledger = writable(context);
      const out = releaseOne(ledger, event.allocationId, event.type === 'EXPIRE' ? 'expired' : 'released');
      enqueue.assign({
        ledger: ledger.state,
        version: context.version + 1,
        releasedCount: context.releasedCount + (out ? 1 : 0),
      });
      if (out) enqueue.emit(out);
      if (event.requestId !== undefined) {
        enqueue.emit({
          type: 'allocator.result',
          requestId: event.requestId,
          op: 'release',
          ok: true,
          released: out !== undefined,
        });
      }
    }),
    /** Resize atomically; growth must fit. */
    resize: enqueueActions(({ context, event, enqueue }) => {
      if (event.type !== 'RESIZE') return;
      const ledger = writable(context);
      const result = answer(event.requestId, 'resize', () => ledger.resize(event.allocationId, event.change));
      const update = counted(context, result, 0);
      update.ledger = ledger.state;
      enqueue.assign(update);
      enqueue.emit(result);
    }),
    /** Set one quota of one group; a lowering below what the group holds is refused. */
    setQuota: enqueueActions(({ context, event, enqueue }) => {
      if (event.type !== 'SET_QUOTA') return;
      const ledger = writable(context);
      const base = { type: 'allocator.result', requestId: event.requestId, op: 'quota' } as const;
      let result: AllocatorResult;
      try {
        const r = ledger.setQuota(event.group, event.resource, event.amount);
        result = r.ok ? { ...base, ok: true } : { ...base, ok: false, held: r.held };
      } catch (e) {
        result = { ...base, ok: false, error: errorOf(e) };
      }
      enqueue.assign({ ledger: ledger.state, version: context.version + 1 });
      enqueue.emit(result);
    }),
    /** Release everything the lost agent held. O(allocations) — agent loss is rare. */
    releaseOwner: enqueueActions(({ context, event, enqueue }) => {
      if (event.type !== 'AGENT_LOST') return;
      const ledger = writable(context);
      let n = 0;
      for (const id of ledger.idsOwnedBy(event.owner)) {
        const out = releaseOne(ledger, id, 'agent-lost');
        if (out) {
          n++;
          enqueue.emit(out);
        }
      }
      enqueue.assign({
        ledger: ledger.state,
        version: context.version + 1,
        releasedCount: context.releasedCount + n,
      });
    }),
    /** Closing deadline passed: release what is left. */
    releaseAll: enqueueActions(({ context, enqueue }) => {
      const ledger = writable(context);
      let n = 0;
      for (const a of ledger.allocations()) {
        const out = releaseOne(ledger, a.id, 'closed');
        if (out) {
          n++;
          enqueue.emit(out);
        }
      }
      enqueue.assign({
        ledger: ledger.state,
        version: context.version + 1,
        releasedCount: context.releasedCount + n,
      });
    }),
    /** While closing, new reservations are refused. */
    refuseClosing: enqueueActions(({ context, event, enqueue }) => {
      if (event.type !== 'RESERVE') return;
      const result: AllocatorResult = {
        type: 'allocator.result',
        requestId: event.requestId,
        op: 'reserve',
        ok: false,
        error: makeError('ERR_SHUTTING_DOWN', 'allocator is closing: no new reservations'),
      };
      enqueue.assign(counted(context, result, 0));
      enqueue.emit(result);
    }),
  },
  guards: {
    empty: ({ context }) => context.ledger.size === 0,
  },
  delays: {
    closeDeadline: ({ context }) => context.closeDeadlineMs,
  },
}).createMachine({
  id: 'allocator',
  context: ({ input }) => ({
    ledger: stateOf(typeof input.ledger === 'function' ? input.ledger() : input.ledger),
    copyOnWrite: input.copyOnWrite ?? false,
    policy: input.policy ?? DEFAULT_ALLOCATION_POLICY,
    closeDeadlineMs: input.closeDeadlineMs ?? 30_000,
    version: 0,
    reserved: 0,
    releasedCount: 0,
    refused: 0,
    pressure: {},
  }),
  initial: 'open',
  states: {
    open: {
      on: {
        RESERVE: { actions: ['reserve'] },
        RELEASE: { actions: ['release'] },
        EXPIRE: { actions: ['release'] },
        RESIZE: { actions: ['resize'] },
        AGENT_LOST: { actions: ['releaseOwner'] },
        SET_QUOTA: { actions: ['setQuota'] },
        TAKE_PRESSURE: { actions: ['takePressure'] },
        CLOSE: { target: 'closing' },
      },
    },
    closing: {
      always: { guard: 'empty', target: 'closed' },
      after: { closeDeadline: { target: 'closed', actions: ['releaseAll'] } },
      on: {
        RESERVE: { actions: 'refuseClosing' },
        RELEASE: { actions: ['release'] },
        EXPIRE: { actions: ['release'] },
        RESIZE: { actions: ['resize'] },
        AGENT_LOST: { actions: ['releaseOwner'] },
      },
    },
    closed: { type: 'final' },
  },
});

/** `pressure` with group × resource raised to (held + requested), if that is more. A new object. */
function addPressure(
  pressure: Record<string, Record<string, number>>,
  group: string,
  resource: string,
  ledger: Ledger,
  requested: number,
): Record<string, Record<string, number>> {
  const demand = (ledger.groupUsage(group)[resource] ?? 0) + requested;
  const mine = pressure[group] ?? {};
  if ((mine[resource] ?? 0) >= demand) return pressure;
  return { ...pressure, [group]: { ...mine, [resource]: demand } };
}

/**
 * The policy may grow a grant past the request (headroom under a quiet ledger); under a group's quota
 * the growth is cut to what the quota leaves, never below the request itself (which the ledger then
 * grants or refuses as it stands).
 */
function withinQuota(
  ledger: Ledger,
  group: string,
  amounts: ResourceAmounts,
  request: ResourceAmounts,
): ResourceAmounts {
  let out: Record<string, number> | undefined;
  for (const k of Object.keys(amounts)) {
    const want = amounts[k]!;
    const asked = request[k] ?? 0;
    if (want <= asked) continue;
    const cap = Math.max(asked, ledger.quotaFree(group, k));
    if (want > cap) (out ??= { ...amounts })[k] = cap;
  }
  return out ?? amounts;
}

/** Context update for one answered request: version bump plus the counters. */
function counted(ctx: Ctx, r: AllocatorResult, released: number): Partial<Ctx> {
  const granted = r.ok && r.op === 'reserve' ? 1 : 0;
  return {
    version: ctx.version + 1,
    reserved: ctx.reserved + granted,
    refused: ctx.refused + (r.ok ? 0 : 1),
    releasedCount: ctx.releasedCount + released,
  };
}
