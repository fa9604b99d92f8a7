/**
 * A pool's child group (src/runtime/child-group.ts): the parent of its waiting acquisitions and lease
 * allocations. A finished child's done event stops at the group (the pool's chart never sees it), a
 * failing child is reported through `onChildError` while the parent and the other children go on, and
 * the children stay in the parent's system (one tree).
 */
import { assign, createActor, setup } from 'xstate';
import { describe, expect, it } from 'vitest';
import { ChildGroup } from '../../src/runtime/child-group.js';

/** A parent that counts every event it receives. */
const parentMachine = setup({ types: { context: {} as { heard: string[] } } }).createMachine({
  context: { heard: [] },
  on: { '*': { actions: assign({ heard: ({ context, event }) => [...context.heard, event.type] }) } },
});

/** A child that finishes on FINISH and throws on BOOM. */
const childMachine = setup({
  actions: {
    explode: () => {
      throw new Error('child exploded');
    },
  },
}).createMachine({
  initial: 'waiting',
  states: {
    waiting: { on: { FINISH: 'done', BOOM: { actions: 'explode' } } },
    done: { type: 'final' },
  },
});

describe('ChildGroup', () => {
  it('keeps done events from the parent, reports a failing child, and leaves the rest running', () => {
    const parent = createActor(parentMachine).start();
    const errors: { error: unknown; child: string }[] = [];
    const group = new ChildGroup(parent, 'p-waiting', (error, child) => errors.push({ error, child }));
    const a = group.create(childMachine, 'p-acq-1', undefined);
    const b = group.create(childMachine, 'p-acq-2', undefined);
    a.start();
    b.start();
    expect(a.system).toBe(parent.system);
    expect((a as unknown as { _parent: unknown })._parent).toBe(group.actor);

    a.send({ type: 'FINISH' });
    expect(a.getSnapshot().status).toBe('done');
    b.send({ type: 'BOOM' });
    expect(b.getSnapshot().status).toBe('error');
    expect(errors).toHaveLength(1);
    expect(errors[0]!.child).toBe('p-acq-2');
    expect((errors[0]!.error as Error).message).toBe('child exploded');

    // Neither the done nor the error event reached the parent's chart; parent and group are active.
    expect(parent.getSnapshot().context.heard).toEqual([]);
    expect(parent.getSnapshot().status).toBe('active');
    expect(group.actor.getSnapshot().status).toBe('active');
    const c = group.create(childMachine, 'p-acq-1', undefined);
    c.start();
    c.send({ type: 'FINISH' });
    expect(c.getSnapshot().status).toBe('done');

    group.stop();
    expect(group.actor.getSnapshot().status).toBe('stopped');
    parent.stop();
  });
});
