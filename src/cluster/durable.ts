/**
 * Durable submits (cluster mode, issue 17 item 4): `submit()` stores the task in a JetStream stream
 * and resolves its enqueue only after the server's PubAck; a settled task's outcome goes to a KV
 * bucket, then its message leaves the stream. A coordinator that starts with the same `cluster.name`
 * finds what is left in the stream — queued tasks and tasks that were running when the last one died
 * — and submits them again through the ordinary dispatcher path; `attach(id)` re-attaches a caller.
 *
 * One owner per fact: the stream is the durable copy of "this task was accepted and has no outcome
 * yet", the results bucket the durable copy of its outcome; the dispatcher stays the only owner of the
 * live queue (priority, placement, re-queue, retries). {@link DurableTasks} keeps no queue of its own:
 * only the result promise of each task it handed to the dispatcher, so that a second submit with the
 * same id, or an `attach()`, joins the run instead of starting another. It is a plain object, not an
 * actor, because it has no states of its own beyond "store open": its lifecycle is the system's
 * (opened on first use, resumed by `start()`, flushed by the shutdown hook before the link closes).
 *
 * Execution is at-least-once (a task that was running when its coordinator died runs again);
 * results are recorded once per task id. docs/guides/cluster.md "Durable submits" states it.
 *
 * Over 400 lines because the store's whole protocol — open, enqueue, record, resume, attach — lives
 * in one class: they must agree on one record format and one order of writes (outcome before the
 * stream record goes), which is what makes a crash at any point safe to resume. Ids, names, types and
 * the JSON check are in src/cluster/task-handle.ts.
 */
import { randomUUID } from 'node:crypto';
import {
  DeliverPolicy,
  DiscardPolicy,
  jetstream,
  type JetStreamClient,
  type JetStreamManager,
  jetstreamManager,
  RetentionPolicy,
  StorageType,
} from '@nats-io/jetstream';
import { type KV, Kvm } from '@nats-io/kv';
import type { Clock } from '../core/clock.js';
import {
  AbortedError,
  AgentPoolError,
  deserializeError,
  InvalidArgumentError,
  serializeError,
  type SerializedError,
} from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import { duration, knownKeys, record, signal as sig } from '../core/validate.js';
import type { Dispatcher, SubmitOptions } from '../runtime/dispatcher.js';
import type { DurableConfig } from './durable-config.js';
import {
  type AttachOptions,
  checkTaskId,
  durableNames,
  findNonJson,
  idOf,
  type TaskHandle,
} from './task-handle.js';
import type { ClusterLink } from './link.js';

/** Within this window the stream drops a second publish with the same Nats-Msg-Id (client retries). */
const DEDUPE_WINDOW_MS = 120_000;
/** attach()'s wait when the caller names none: long, but never forever. */
const ATTACH_TIMEOUT_MS = 3_600_000;
const ATTACH_KEYS = new Set(['signal', 'timeoutMs']);
/** A stream message: the task as accepted (the JSON part of its submit options, absolute times). */
interface StoredTask {
  v: 1;
  id: string;
  submittedAt: number;
  options: Record<string, unknown>;
}

/** A results-bucket value. */
interface StoredOutcome {
  v: 1;
  id: string;
  type: string;
  task: string;
  ok: boolean;
  value?: unknown;
  error?: SerializedError;
  settledAt: number;
}

interface Store {
  js: JetStreamClient;
  jsm: JetStreamManager;
  kv: KV;
}

/** What the durable store needs of its system. */
export interface DurableOwner {
  readonly state: string;
  readonly dispatcher: Dispatcher;
  readonly logger: Logger;
}

/** Submit options that are stored and hold after a restart (the rest are this process's only). */
const STORED = [
  'type',
  'task',
  'input',
  'priority',
  'deadline',
  'timeoutMs',
  'requirements',
  'capabilities',
  'concurrencyKey',
  'concurrencyLimit',
  'idempotencyKey',
  'maxAttempts',
  'cycleId',
  'retry',
  'notBefore',
] as const;

/**
 * Errors that end a run because this coordinator stops, not because the task failed: the task stays
 * in the stream for the next coordinator (as after a crash).
 */
const STOPPING = new Set([
  'ERR_SHUTTING_DOWN',
  'ERR_AGENT_STOPPED',
  'ERR_AGENT_TERMINATED',
  'ERR_AGENT_CRASHED',
  'ERR_AGENT_LOST',
  'ERR_AGENT_UNAVAILABLE',
  'ERR_LEASE_RELEASED',
]);

interface Deferred {
  promise: Promise<unknown>;
  resolve(v: unknown): void;
  reject(e: unknown): void;
}

function deferred(): Deferred {
  let resolve!: (v: unknown) => void;
  let reject!: (e: unknown) => void;
  const promise = new Promise<unknown>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  // A handle kept for its id only must not turn a failed task into an unhandled rejection.
  promise.catch(() => {});
  return { promise, resolve, reject };
}

function storeError(what: string, cause: unknown): AgentPoolError {
  if (cause instanceof AgentPoolError) return cause;
  return new AgentPoolError(
    'ERR_STORE_UNAVAILABLE',
    `${what}: the durable task store did not answer: ${(cause as Error)?.message ?? String(cause)}`,
    { cause },
  );
}

/** One system's durable tasks: the stream, the results bucket and the result promises it handed out. */
export class DurableTasks {
  private store: Promise<Store> | undefined;
  /** Result promise of every task handed to the dispatcher and not yet recorded (by task id). */
  private readonly live = new Map<string, Promise<unknown>>();
  /** Result writes under way (shutdown waits for them before the connection closes). */
  private readonly writes = new Set<Promise<void>>();
  private resuming: Promise<{ resumed: number; finished: number }> | undefined;
  private readonly stream: string;

  constructor(
    private readonly link: ClusterLink,
    private readonly config: DurableConfig,
    private readonly clock: Clock,
    private readonly owner: DurableOwner,
  ) {
    this.stream = durableNames.stream(link.config.name);
  }

  private get system(): string {
    return this.link.config.name;
  }

  /** Open (once) the stream and the bucket; both are created by the first coordinator of a name. */
  private open(): Promise<Store> {
    this.store ??= (async () => {
      const { nc } = await this.link.ready();
      const opts = { timeout: this.config.writeTimeoutMs };
      const js = jetstream(nc, opts);
      const jsm = await jetstreamManager(nc, opts);
      const cfg = {
        name: this.stream,
        subjects: [durableNames.subject(this.system, '>')],
        storage: StorageType.File,
        retention: RetentionPolicy.Limits,
        discard: DiscardPolicy.Old,
        // One message per task id: a task submitted again after a failure replaces its record.
        max_msgs_per_subject: 1,
        duplicate_window: DEDUPE_WINDOW_MS * 1_000_000,
      };
      try {
        await jsm.streams.add(cfg);
      } catch (err) {
        // It exists (perhaps with settings changed by an operator): use it as it is.
        await jsm.streams.info(this.stream).catch(() => {
          throw err;
        });
      }
      const kv = await new Kvm(js).create(durableNames.results(this.system), {
        history: 1,
        ttl: this.config.resultTtlMs,
        storage: StorageType.File,
      });
      // An existing bucket keeps the TTL it was made with: a changed resultTtlMs must apply too.
      const status = await kv.status();
      if (status.ttl !== this.config.resultTtlMs)
        await jsm.streams.update(status.streamInfo.config.name, {
          max_age: this.config.resultTtlMs * 1_000_000,
        });
      return { js, jsm, kv };
    })().catch((err: unknown) => {
      this.store = undefined; // the next call tries again
      throw storeError('opening the task stream', err);
    });
    return this.store;
  }

  /**
   * Store a task, then hand it to the dispatcher. Resolves once the server acknowledged it (or the
   * task already existed under its id); rejects, with nothing stored, on invalid options (the
   * dispatcher's checks, and JSON-only input) or `ERR_STORE_UNAVAILABLE`.
   */
  async enqueue(raw: SubmitOptions, trace?: unknown): Promise<TaskHandle> {
    const o = record('argument', 'submit', raw);
    const named = idOf(o);
    const { taskId: _id, signal, onProgress, ...rest } = o;
    // Every other check submit() makes, before anything is stored.
    this.owner.dispatcher.validate(o as unknown as SubmitOptions);
    const options = this.stored(rest);
    const id = named ?? `t-${randomUUID()}`;
    const joined = this.live.get(id);
    if (joined) {
      this.owner.dispatcher.noteDeduplicated();
      return { id, durable: true, deduplicated: true, result: joined };
    }
    const d = deferred();
    // Registered before the first await: a concurrent submit, attach() or resume() of the id joins it.
    this.live.set(id, d.promise);
    let seq: number | undefined;
    try {
      if (this.resuming) await this.resuming.catch(() => {});
      const store = await this.open();
      let msgID = id;
      // A generated id is new by construction: only a named one can have a recorded outcome.
      const prior = named === undefined ? null : await store.kv.get(id);
      if (prior?.operation === 'PUT') {
        const out = prior.json<StoredOutcome>();
        if (out.ok) {
          this.live.delete(id);
          d.resolve(out.value);
          this.owner.dispatcher.noteDeduplicated();
          return { id, durable: true, deduplicated: true, result: d.promise };
        }
        // A failed task may be submitted again under its id (as locally): its failure is forgotten.
        await store.kv.delete(id);
        msgID = `${id}-r${prior.revision}`;
      }
      const body: StoredTask = { v: 1, id, submittedAt: this.clock.now(), options };
      const ack = await store.js.publish(durableNames.subject(this.system, id), JSON.stringify(body), {
        msgID,
        timeout: this.config.writeTimeoutMs,
      });
      seq = ack.seq;
      if (ack.duplicate) {
        // Stored before under this id (a client retry, or a restart racing a re-submit): the record
        // in the stream is the one to remove once settled.
        const m = await store.jsm.streams
          .getMessage(this.stream, { last_by_subj: durableNames.subject(this.system, id) })
          .catch(() => null);
        seq = m?.seq;
      }
    } catch (err) {
      if (this.live.get(id) === d.promise) this.live.delete(id);
      const e = storeError(`submit(${String(o.task)})`, err);
      d.reject(e);
      throw e;
    }
    const local = {
      ...(signal !== undefined ? { signal } : {}),
      ...(onProgress !== undefined ? { onProgress } : {}),
    };
    this.run(id, seq, options, local, trace, d);
    return { id, durable: true, deduplicated: false, result: d.promise };
  }

  /** `submit()` in cluster mode: the result of {@link enqueue}. */
  submit(raw: SubmitOptions, trace?: unknown): Promise<unknown> {
    return this.enqueue(raw, trace).then((h) => h.result);
  }

  /** The JSON part of submit options, with relative times made absolute (they must hold after a restart). */
  private stored(o: Record<string, unknown>): Record<string, unknown> {
    const now = this.clock.now();
    const src: Record<string, unknown> = { ...o };
    if (typeof o.deadlineMs === 'number') src.deadline = now + o.deadlineMs;
    if (typeof o.delayMs === 'number' && o.delayMs > 0) src.notBefore = now + o.delayMs;
    const out: Record<string, unknown> = {};
    for (const k of STORED) if (src[k] !== undefined) out[k] = src[k];
    const bad = out.input === undefined ? undefined : findNonJson(out.input, 'submit.input');
    if (bad)
      throw new InvalidArgumentError(
        bad.path,
        bad.value,
        'JSON data (a durable cluster submit stores its input)',
      );
    const badOpt = findNonJson(out, 'submit');
    if (badOpt) throw new InvalidArgumentError(badOpt.path, badOpt.value, 'JSON data');
    return out;
  }

  /** Hand a stored task to the dispatcher; record its outcome when it settles. */
  private run(
    id: string,
    seq: number | undefined,
    options: Record<string, unknown>,
    local: Record<string, unknown>,
    trace: unknown,
    d: Deferred,
  ): void {
    const signal = local.signal as AbortSignal | undefined;
    // The id dedupes here; the dispatcher's own idempotency map would be a second owner of that fact.
    const { idempotencyKey: _key, ...opts } = options;
    this.owner.dispatcher.submit({ ...opts, ...local } as unknown as SubmitOptions, trace).then(
      (value) => this.settle(id, seq, options, { ok: true, value }, d),
      (error: unknown) => {
        const code = (error as { code?: string })?.code ?? '';
        const stopping =
          this.owner.state !== 'running' &&
          (STOPPING.has(code) || (code === 'ERR_ABORTED' && !signal?.aborted));
        if (stopping) {
          // This coordinator stops: the task stays in the stream and the next one resumes it.
          if (this.live.get(id) === d.promise) this.live.delete(id);
          d.reject(error);
          return;
        }
        this.settle(id, seq, options, { ok: false, error }, d);
      },
    );
  }

  /**
   * Record the outcome (bucket first, then remove the stream record: a crash in between leaves a
   * record whose outcome exists, which resume() removes without running it), then settle the caller.
   */
  private settle(
    id: string,
    seq: number | undefined,
    options: Record<string, unknown>,
    outcome: { ok: true; value: unknown } | { ok: false; error: unknown },
    d: Deferred,
  ): void {
    const w = (async () => {
      const store = await this.open();
      const base = {
        v: 1 as const,
        id,
        type: String(options.type),
        task: String(options.task),
        settledAt: this.clock.now(),
      };
      let body: string;
      try {
        body = JSON.stringify(
          outcome.ok
            ? { ...base, ok: true, value: outcome.value }
            : { ...base, ok: false, error: serializeError(outcome.error) },
        );
      } catch (err) {
        // The caller here gets the value itself; an attach() later learns it could not be kept.
        body = JSON.stringify({
          ...base,
          ok: false,
          error: serializeError(
            new AgentPoolError('ERR_SERIALIZATION', `task ${id}: its result is not JSON data`, {
              cause: err,
            }),
          ),
        });
      }
      await store.kv.put(id, body);
      return store;
    })().then(
      (store) => {
        // Recorded: the caller may have it now. The stream record goes after (a crash in between
        // leaves a record resume() removes without running), off the caller's path.
        if (seq !== undefined) this.track(store.jsm.streams.deleteMessage(this.stream, seq, false), id);
      },
      (err: unknown) =>
        // Not recorded: the stream still holds the task, so the next coordinator runs it again.
        this.owner.logger.warn({ err, taskId: id }, 'durable task outcome not recorded'),
    );
    this.track(w, id);
    void w.finally(() => {
      if (this.live.get(id) === d.promise) this.live.delete(id);
      if (outcome.ok) d.resolve(outcome.value);
      else d.reject(outcome.error);
    });
  }

  /** A store write the shutdown hook waits for. */
  private track(p: Promise<unknown>, id: string): void {
    const w = p.then(
      () => {},
      (err: unknown) => this.owner.logger.warn({ err, taskId: id }, 'durable task store write failed'),
    );
    this.writes.add(w);
    void w.finally(() => this.writes.delete(w));
  }

  /**
   * Resume what a previous coordinator of this name left in the stream: a task whose outcome is
   * recorded is removed, every other one is submitted again (at-least-once). Once per system, from
   * `start()`; a failure (store unreachable) rejects and the next `start()` tries again.
   */
  resume(): Promise<{ resumed: number; finished: number }> {
    this.resuming ??= this.resumeAll().catch((err: unknown) => {
      this.resuming = undefined;
      throw storeError('resuming stored tasks', err);
    });
    return this.resuming;
  }

  private async resumeAll(): Promise<{ resumed: number; finished: number }> {
    const store = await this.open();
    const report = { resumed: 0, finished: 0 };
    const info = await store.jsm.streams.info(this.stream);
    // Only what was stored before this coordinator started: later records are its own submits.
    const last = info.state.last_seq;
    if (info.state.messages === 0) return report;
    const consumer = await store.js.consumers.get(this.stream, { deliver_policy: DeliverPolicy.All });
    try {
      let more = true;
      while (more) {
        // A batch at a time, its outcome look-ups in parallel: a resume is a few round trips per
        // 256 records, not two per record.
        const batch: { seq: number; task: StoredTask | undefined }[] = [];
        const msgs = await consumer.fetch({ max_messages: 256, expires: this.config.writeTimeoutMs });
        for await (const m of msgs) {
          if (m.seq > last) {
            more = false;
            break;
          }
          let task: StoredTask | undefined;
          try {
            task = m.json<StoredTask>();
          } catch {
            task = undefined;
          }
          batch.push({ seq: m.seq, task });
          // The last one: leave the fetch now rather than wait out its expiry.
          if (m.seq >= last || m.info.pending === 0) {
            more = false;
            break;
          }
        }
        if (batch.length === 0) break;
        await Promise.all(batch.map(({ seq, task }) => this.resumeOne(store, seq, task, report)));
      }
    } finally {
      await consumer.delete().catch(() => {});
    }
    return report;
  }

  private async resumeOne(
    store: Store,
    seq: number,
    task: StoredTask | undefined,
    report: { resumed: number; finished: number },
  ): Promise<void> {
    if (task?.v !== 1 || typeof task.id !== 'string') {
      this.owner.logger.warn({ seq, stream: this.stream }, 'unreadable task record skipped');
      return;
    }
    if (this.live.has(task.id)) return;
    const done = await store.kv.get(task.id);
    if (done?.operation === 'PUT') {
      await store.jsm.streams.deleteMessage(this.stream, seq, false);
      report.finished++;
      return;
    }
    if (this.live.has(task.id)) return;
    const d = deferred();
    this.live.set(task.id, d.promise);
    this.run(task.id, seq, task.options, {}, undefined, d);
    report.resumed++;
  }

  /**
   * The result of task `id`: from its run here (submitted or resumed by this coordinator), from the
   * results bucket when it settled meanwhile, or — stored but run elsewhere — when its outcome is
   * recorded. `ERR_TASK_NOT_FOUND` when none of these knows it (never submitted, or its outcome is
   * older than `resultTtlMs`). Every wait ends by `timeoutMs` or `signal`.
   */
  attach(id: string, options: AttachOptions = {}): Promise<unknown> {
    let signal: AbortSignal | undefined;
    let timeoutMs: number;
    try {
      checkTaskId(id, 'taskId');
      const o = record('argument', 'options', options);
      knownKeys('argument', 'options', o, ATTACH_KEYS);
      signal = sig('argument', 'options.signal', o.signal);
      timeoutMs = duration('argument', 'options.timeoutMs', o.timeoutMs, ATTACH_TIMEOUT_MS, {
        positive: true,
      });
      if (signal?.aborted) throw new AbortedError(`attach(${id})`, signal.reason);
    } catch (e) {
      return Promise.reject(e);
    }
    return this.bounded(id, signal, timeoutMs, async (onStop) => {
      if (this.resuming) await this.resuming.catch(() => {});
      const live = this.live.get(id);
      if (live) return live;
      const store = await this.open();
      const done = await store.kv.get(id);
      if (done?.operation === 'PUT') return unpack(done.json<StoredOutcome>());
      const queued = await store.jsm.streams
        .getMessage(this.stream, { last_by_subj: durableNames.subject(this.system, id) })
        .catch(() => null);
      if (!queued) {
        // It may have settled here between the two reads.
        const again = this.live.get(id) ?? (await store.kv.get(id));
        if (again instanceof Promise) return again;
        if (again?.operation === 'PUT') return unpack(again.json<StoredOutcome>());
        throw new AgentPoolError(
          'ERR_TASK_NOT_FOUND',
          `no task ${id} is queued, running or recorded in ${durableNames.results(this.system)}`,
          { details: { taskId: id, system: this.system } },
        );
      }
      // Stored, not run by this coordinator (it has not started, or another one runs it): wait for
      // its outcome to be recorded.
      const iter = await store.kv.watch({ key: id });
      onStop(() => iter.stop());
      for await (const e of iter) if (e.operation === 'PUT') return unpack(e.json<StoredOutcome>());
      throw new AgentPoolError('ERR_TASK_NOT_FOUND', `task ${id}: the results watch ended`, {
        details: { taskId: id },
      });
    });
  }

  /** Run `work` until it settles, `signal` fires or `timeoutMs` passes (then its stop hooks run). */
  private bounded<T>(
    id: string,
    signal: AbortSignal | undefined,
    timeoutMs: number,
    work: (onStop: (f: () => void) => void) => Promise<T>,
  ): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const stops: (() => void)[] = [];
      let over = false;
      const end = (f: () => void) => {
        if (over) return;
        over = true;
        this.clock.clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
        for (const s of stops) s();
        f();
      };
      const onAbort = () => end(() => reject(new AbortedError(`attach(${id})`, signal?.reason)));
      const timer = this.clock.setTimeout(
        () =>
          end(() =>
            reject(
              new AgentPoolError(
                'ERR_DEADLINE_EXCEEDED',
                `attach(${id}): no result within ${timeoutMs} ms (the task is not cancelled; attach again)`,
                { details: { taskId: id, timeoutMs } },
              ),
            ),
          ),
        timeoutMs,
      );
      signal?.addEventListener('abort', onAbort, { once: true });
      work((f) => (over ? f() : stops.push(f))).then(
        (v) => end(() => resolve(v)),
        (e: unknown) => end(() => reject(e)),
      );
    });
  }

  /** Wait for the outcome writes under way (the shutdown hook, before the connection closes). */
  async flush(): Promise<void> {
    // A recorded outcome starts its stream delete after it: wait until none is left.
    while (this.writes.size > 0) await Promise.allSettled([...this.writes]);
  }
}

function unpack(out: StoredOutcome): unknown {
  if (out.ok) return out.value;
  throw deserializeError(out.error ?? { name: 'Error', message: `task ${out.id} failed` });
}
