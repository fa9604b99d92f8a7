import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ConfigError, InvalidArgumentError } from '../../src/core/errors.js';
import { PRIORITIES, type Priority, type QueuedTask, TaskQueue } from '../../src/structures/task-queue.js';

/** The model: a plain array, sorted on demand with an independently written comparator. */
interface ModelTask {
  id: string;
  priority: Priority;
  deadline: number | undefined;
  classKey: string;
  seq: number;
}
interface Model {
  tasks: ModelTask[];
  nextSeq: number;
  nextId: number;
}

const rankOf = (p: Priority) => PRIORITIES.indexOf(p);
function modelOrder(a: ModelTask, b: ModelTask): number {
  return (
    rankOf(a.priority) - rankOf(b.priority) ||
    (a.deadline ?? Number.MAX_VALUE) - (b.deadline ?? Number.MAX_VALUE) ||
    a.seq - b.seq
  );
}
const sorted = (m: Model) => [...m.tasks].sort(modelOrder);
const takeOut = (m: Model, id: string) => {
  m.tasks = m.tasks.filter((t) => t.id !== id);
};
const idOf = (t: QueuedTask<unknown> | undefined) => t?.id;

type Real = TaskQueue<number>;
const CLASSES = ['a', 'b', 'c'];

class PushCmd implements fc.Command<Model, Real> {
  constructor(
    readonly priority: Priority,
    readonly deadline: number | undefined,
    readonly classKey: string,
  ) {}
  check = () => true;
  run(m: Model, r: Real): void {
    const id = `t${m.nextId++}`;
    const got = r.push({
      id,
      priority: this.priority,
      classKey: this.classKey,
      payload: m.nextSeq,
      ...(this.deadline === undefined ? {} : { deadline: this.deadline }),
    });
    m.tasks.push({
      id,
      priority: this.priority,
      deadline: this.deadline,
      classKey: this.classKey,
      seq: m.nextSeq++,
    });
    expect(got.id).toBe(id);
    expect(r.size).toBe(m.tasks.length);
  }
  toString = () => `push(${this.priority},${this.deadline},${this.classKey})`;
}

class PopCmd implements fc.Command<Model, Real> {
  check = () => true;
  run(m: Model, r: Real): void {
    const want = sorted(m)[0];
    expect(idOf(r.peek())).toBe(want?.id);
    expect(idOf(r.pop())).toBe(want?.id);
    if (want) takeOut(m, want.id);
    expect(r.size).toBe(m.tasks.length);
  }
  toString = () => 'pop';
}

class PopFirstCmd implements fc.Command<Model, Real> {
  /** Accept tasks whose sequence number is ≡ `mod` (mod 3): a per-task predicate. */
  constructor(
    readonly mod: number,
    readonly maxScan: number,
  ) {}
  check = () => true;
  run(m: Model, r: Real): void {
    const order = sorted(m).slice(0, this.maxScan);
    const want = order.find((t) => t.seq % 3 === this.mod);
    expect(idOf(r.popFirst((t) => t.payload % 3 === this.mod, this.maxScan))).toBe(want?.id);
    if (want) takeOut(m, want.id);
    expect(r.size).toBe(m.tasks.length);
  }
  toString = () => `popFirst(mod ${this.mod}, scan ${this.maxScan})`;
}

class PopFirstClassCmd implements fc.Command<Model, Real> {
  constructor(readonly accepted: string[]) {}
  check = () => true;
  run(m: Model, r: Real): void {
    const want = sorted(m).find((t) => this.accepted.includes(t.classKey));
    const seen: string[] = [];
    const got = r.popFirstClass((k) => {
      seen.push(k);
      return this.accepted.includes(k);
    });
    expect(idOf(got)).toBe(want?.id);
    // Each class is asked at most once: cost is per class, not per task.
    expect(new Set(seen).size).toBe(seen.length);
    if (want) takeOut(m, want.id);
    expect(r.size).toBe(m.tasks.length);
  }
  toString = () => `popFirstClass(${this.accepted.join('|')})`;
}

class RemoveCmd implements fc.Command<Model, Real> {
  constructor(readonly pick: number) {}
  check = () => true;
  run(m: Model, r: Real): void {
    // Sometimes an id that is not queued (already popped or never existed).
    const id =
      m.tasks.length > 0 && this.pick >= 0 ? m.tasks[this.pick % m.tasks.length]!.id : `t${m.nextId + 7}`;
    const present = m.tasks.some((t) => t.id === id);
    expect(idOf(r.remove(id))).toBe(present ? id : undefined);
    takeOut(m, id);
    expect(r.size).toBe(m.tasks.length);
    expect(r.has(id)).toBe(false);
  }
  toString = () => `remove(${this.pick})`;
}

class ExpireCmd implements fc.Command<Model, Real> {
  constructor(readonly now: number) {}
  check = () => true;
  run(m: Model, r: Real): void {
    const want = m.tasks
      .filter((t) => t.deadline !== undefined && t.deadline <= this.now)
      .sort((a, b) => a.deadline! - b.deadline! || a.seq - b.seq)
      .map((t) => t.id);
    expect(r.expire(this.now).map((t) => t.id)).toEqual(want);
    for (const id of want) takeOut(m, id);
    expect(r.size).toBe(m.tasks.length);
    const remaining = m.tasks.map((t) => t.deadline).filter((d): d is number => d !== undefined);
    expect(r.nextDeadline()).toBe(remaining.length ? Math.min(...remaining) : undefined);
  }
  toString = () => `expire(${this.now})`;
}

const commands = [
  fc
    .tuple(
      fc.constantFrom(...PRIORITIES),
      fc.option(fc.integer({ min: 0, max: 50 })),
      fc.constantFrom(...CLASSES),
    )
    .map(([p, d, c]) => new PushCmd(p, d ?? undefined, c)),
  fc.constant(new PopCmd()),
  fc
    .tuple(fc.integer({ min: 0, max: 2 }), fc.integer({ min: 1, max: 20 }))
    .map(([m, s]) => new PopFirstCmd(m, s)),
  fc.subarray(CLASSES).map((a) => new PopFirstClassCmd(a)),
  fc.integer({ min: -1, max: 100 }).map((i) => new RemoveCmd(i)),
  fc.integer({ min: 0, max: 50 }).map((n) => new ExpireCmd(n)),
];

describe('TaskQueue against a sorted-array model', () => {
  it('keeps order (priority, deadline, FIFO), size, remove, expire and popFirst in step with the model', () => {
    fc.assert(
      fc.property(fc.commands(commands, { maxCommands: 120, size: 'max' }), (cmds) => {
        const model: Model = { tasks: [], nextSeq: 0, nextId: 0 };
        const real = new TaskQueue<number>();
        fc.modelRun(() => ({ model, real }), cmds);
        // Draining gives the full model order.
        expect(real.toArray().map((t) => t.id)).toEqual(sorted(model).map((t) => t.id));
        const drained: string[] = [];
        for (let t = real.pop(); t; t = real.pop()) drained.push(t.id);
        expect(drained).toEqual(sorted(model).map((t) => t.id));
        expect(real.size).toBe(0);
      }),
      { numRuns: 300 },
    );
  });
});

describe('TaskQueue removal from large heaps', () => {
  it('removing arbitrary tasks keeps the rest in order (exercises sift-up and sift-down)', () => {
    fc.assert(
      fc.property(
        // Mostly-distinct deadlines in random order: ties (broken by insertion order) would make
        // the heap nearly sorted and hide a missing sift-up.
        fc.array(
          fc.tuple(
            fc.constantFrom(...PRIORITIES),
            fc.option(fc.integer({ min: 0, max: 1_000_000 }), { freq: 10 }),
          ),
          {
            minLength: 1,
            maxLength: 300,
            size: 'max',
          },
        ),
        fc.array(fc.nat(), { maxLength: 150, size: 'max' }),
        (items, removals) => {
          const q = new TaskQueue<number>();
          const model: ModelTask[] = items.map(([priority, d], seq) => ({
            id: `t${seq}`,
            priority,
            deadline: d ?? undefined,
            classKey: 'one',
            seq,
          }));
          for (const t of model)
            q.push({
              id: t.id,
              priority: t.priority,
              payload: t.seq,
              ...(t.deadline === undefined ? {} : { deadline: t.deadline }),
            });
          let live = model;
          for (const r of removals) {
            if (live.length === 0) break;
            const victim = live[r % live.length]!;
            expect(q.remove(victim.id)?.id).toBe(victim.id);
            live = live.filter((t) => t !== victim);
          }
          const out: string[] = [];
          for (let t = q.pop(); t; t = q.pop()) out.push(t.id);
          expect(out).toEqual([...live].sort(modelOrder).map((t) => t.id));
        },
      ),
      { numRuns: 200 },
    );
  });
});

describe('TaskQueue', () => {
  it('serves critical before low, earlier deadline first, no deadline last, then FIFO', () => {
    const q = new TaskQueue<string>();
    q.push({ id: 'low', priority: 'low', payload: '' });
    q.push({ id: 'med-none-1', priority: 'medium', payload: '' });
    q.push({ id: 'med-d20', priority: 'medium', deadline: 20, payload: '' });
    q.push({ id: 'med-none-2', priority: 'medium', payload: '' });
    q.push({ id: 'med-d10', priority: 'medium', deadline: 10, payload: '' });
    q.push({ id: 'crit', priority: 'critical', payload: '' });
    const out: string[] = [];
    for (let t = q.pop(); t; t = q.pop()) out.push(t.id);
    expect(out).toEqual(['crit', 'med-d10', 'med-d20', 'med-none-1', 'med-none-2', 'low']);
  });

  it('a class that cannot be placed does not block another class', () => {
    const q = new TaskQueue<null>();
    for (let i = 0; i < 1000; i++)
      q.push({ id: `code${i}`, priority: 'critical', classKey: 'code', payload: null });
    q.push({ id: 'qa0', priority: 'low', classKey: 'qa', payload: null });
    let asked = 0;
    const got = q.popFirstClass((k) => {
      asked++;
      return k === 'qa';
    });
    expect(got?.id).toBe('qa0');
    expect(asked).toBe(2); // one look at each class head, not 1000 looks at code tasks
    expect(q.size).toBe(1000);
  });

  it('popFirst respects maxScan', () => {
    const q = new TaskQueue<number>();
    for (let i = 0; i < 10; i++) q.push({ id: `t${i}`, payload: i });
    expect(q.popFirst((t) => t.payload === 9, 5)).toBeUndefined();
    expect(q.popFirst((t) => t.payload === 9, 10)?.id).toBe('t9');
    expect(q.size).toBe(9);
  });

  it('rejects bad input with InvalidArgumentError and leaves the queue unchanged', () => {
    const q = new TaskQueue<number>();
    q.push({ id: 'x', payload: 1, deadline: 5 });
    const before = q.toArray();
    expect(() => q.push({ id: 'x', payload: 2 })).toThrow(InvalidArgumentError);
    expect(() => q.push({ id: 'y', payload: 2, priority: 'urgent' as Priority })).toThrow(/task\.priority/);
    expect(() => q.push({ id: 'z', payload: 2, deadline: Number.NaN })).toThrow(/task\.deadline/);
    expect(() => q.push({ id: '', payload: 2 })).toThrow(/task\.id/);
    expect(q.toArray()).toEqual(before);
    expect(q.nextDeadline()).toBe(5);
    expect(q.size).toBe(1);
  });

  it('rejects unknown options with ConfigError', () => {
    expect(() => new TaskQueue({ defaultClas: 'x' } as never)).toThrow(ConfigError);
    expect(() => new TaskQueue({ defaultClass: '' })).toThrow(/taskQueue\.defaultClass/);
    expect(new TaskQueue({ defaultClass: 'k' }).push({ id: 'a', payload: 1 }).classKey).toBe('k');
  });

  it('drops empty classes', () => {
    const q = new TaskQueue<number>();
    q.push({ id: 'a', classKey: 'k1', payload: 0 });
    q.push({ id: 'b', classKey: 'k2', payload: 0 });
    q.remove('a');
    expect(q.classKeys()).toEqual(['k2']);
    expect(q.sizeOf('k1')).toBe(0);
    expect(q.sizeOf('k2')).toBe(1);
    expect(q.popClass('k2')?.id).toBe('b');
    expect(q.classKeys()).toEqual([]);
  });
});
