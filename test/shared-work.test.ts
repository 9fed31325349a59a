/**
 * Request coalescing without sockets: the work is a hand-settled promise, so each test decides
 * when it ends and checks who waited, who left and what the work's own signal saw.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { createSharedWork } from '../origin/load/shared-work.js';
import { deferred, isSame, settled, type Deferred } from './helpers/deferred.js';

interface Result {
  readonly run: number;
}

/** A `produce` that records every run it is asked for and leaves it pending until settled by hand. */
function recordingWork() {
  const runs: { readonly signal: AbortSignal; readonly outcome: Deferred<Result> }[] = [];
  const produce = (signal: AbortSignal) => {
    const outcome = deferred<Result>();
    runs.push({ signal, outcome });
    return outcome.promise;
  };
  /** Run `index` (started before), finished with a result naming it. */
  const finish = (index: number): Result => {
    const result = { run: index };
    runs[index]!.outcome.resolve(result);
    return result;
  };
  /** Finishes run `index` and checks that every caller got that very object. */
  const deliver = async (index: number, ...callers: Promise<Result>[]) => {
    const result = finish(index);
    for (const caller of callers) assert.equal(await caller, result);
    return result;
  };
  return { runs, produce, finish, deliver };
}

/** Aborts a caller's signal and checks that the caller is rejected with exactly that reason. */
async function leave(controller: AbortController, caller: Promise<unknown>, reason: unknown = new Error('client went away')) {
  controller.abort(reason);
  await assert.rejects(caller, isSame(reason));
}

function setup() {
  let joins = 0;
  const shared = createSharedWork<Result>(() => joins++);
  return { shared, work: recordingWork(), joins: () => joins };
}

describe('shared work', () => {
  test('concurrent callers of one key share one run and get the very same object', async () => {
    const { shared, work } = setup();
    const callers = [
      shared.run('a', undefined, work.produce),
      shared.run('a', new AbortController().signal, work.produce),
      shared.run('a', AbortSignal.timeout(60_000), work.produce),
    ];
    await settled();
    assert.equal(work.runs.length, 1);
    await work.deliver(0, ...callers);
  });

  test('different keys run separately, each with its own result', async () => {
    const { shared, work } = setup();
    const a = shared.run('a', undefined, work.produce);
    const b = shared.run('b', undefined, work.produce);
    await settled();
    assert.equal(work.runs.length, 2);
    assert.notEqual(work.runs[0]!.signal, work.runs[1]!.signal);
    const second = await work.deliver(1, b);
    assert.equal(shared.size, 1, 'a is still in flight');
    const first = await work.deliver(0, a);
    assert.notEqual(first, second);
  });

  test('a caller whose signal aborts is rejected with its reason; the others still get the result', async () => {
    const { shared, work } = setup();
    const leaving = new AbortController();
    const staying = new AbortController();
    const left = shared.run('a', leaving.signal, work.produce);
    const withSignal = shared.run('a', staying.signal, work.produce);
    const withoutSignal = shared.run('a', undefined, work.produce);
    await settled();
    await leave(leaving, left);
    assert.equal(work.runs[0]!.signal.aborted, false, 'the work goes on for the others');
    assert.equal(shared.size, 1);
    await work.deliver(0, withSignal, withoutSignal);
  });

  test("the work's own signal aborts only when the last waiter leaves, with that waiter's reason", async () => {
    const { shared, work } = setup();
    const first = new AbortController();
    const last = new AbortController();
    const callers = [shared.run('a', first.signal, work.produce), shared.run('a', last.signal, work.produce)];
    await settled();
    const { signal } = work.runs[0]!;
    first.abort(new Error('first'));
    assert.equal(signal.aborted, false);
    const lastReason = new Error('last');
    last.abort(lastReason);
    assert.equal(signal.aborted, true);
    assert.equal(signal.reason, lastReason);
    assert.equal(shared.size, 0, 'an abandoned key is no longer in flight');
    const outcomes = await Promise.allSettled(callers);
    assert.deepEqual(outcomes.map((o) => o.status), ['rejected', 'rejected']);
  });

  test('a waiter without a signal never leaves, so the work is never aborted for it', async () => {
    const { shared, work } = setup();
    const leaving = new AbortController();
    const left = shared.run('a', leaving.signal, work.produce);
    const staying = shared.run('a', undefined, work.produce);
    await settled();
    await leave(leaving, left);
    assert.equal(work.runs[0]!.signal.aborted, false);
    await work.deliver(0, staying);
  });

  test('after every waiter left, a new caller starts fresh work that the abandoned run cannot disturb', async () => {
    const { shared, work } = setup();
    const leaving = new AbortController();
    const abandoned = shared.run('a', leaving.signal, work.produce);
    await settled();
    await leave(leaving, abandoned);
    const fresh = shared.run('a', undefined, work.produce);
    await settled();
    assert.equal(work.runs.length, 2);
    // The abandoned run ends late: it must not remove the fresh run's entry nor answer its caller.
    work.finish(0);
    await settled();
    assert.equal(shared.size, 1);
    await work.deliver(1, fresh);
    assert.equal(shared.size, 0);
  });

  test('once settled, a new call starts fresh work: results are not kept', async () => {
    const { shared, work } = setup();
    const first = shared.run('a', undefined, work.produce);
    await settled();
    const result = await work.deliver(0, first);
    assert.equal(shared.size, 0);
    const second = shared.run('a', undefined, work.produce);
    await settled();
    assert.equal(work.runs.length, 2);
    assert.notEqual(await work.deliver(1, second), result);
  });

  test('a rejection is shared by every waiter and not kept', async () => {
    const { shared, work } = setup();
    const callers = [shared.run('a', undefined, work.produce), shared.run('a', new AbortController().signal, work.produce)];
    await settled();
    const failure = new Error('source unavailable');
    work.runs[0]!.outcome.reject(failure);
    for (const caller of callers) await assert.rejects(caller, isSame(failure));
    assert.equal(shared.size, 0);
    const retry = shared.run('a', undefined, work.produce);
    await settled();
    assert.equal(work.runs.length, 2, 'the failure is not served again');
    await work.deliver(1, retry);
  });

  test('a produce that throws synchronously becomes a rejection of every waiter', async () => {
    const { shared } = setup();
    const failure = new Error('bad input');
    const produce = (): Promise<Result> => {
      throw failure;
    };
    const callers = [shared.run('a', undefined, produce), shared.run('a', undefined, produce)];
    for (const caller of callers) await assert.rejects(caller, isSame(failure));
    assert.equal(shared.size, 0);
  });

  test('a caller whose signal is already aborted gets its reason and starts nothing', async () => {
    const { shared, work, joins } = setup();
    const reason = new Error('already gone');
    // A rejected promise, as the doc says, not a synchronous throw.
    let pending: Promise<unknown> | undefined;
    assert.doesNotThrow(() => void (pending = shared.run('a', AbortSignal.abort(reason), work.produce)));
    await assert.rejects(pending ?? Promise.resolve(), isSame(reason));
    await settled();
    assert.equal(work.runs.length, 0);
    assert.equal(shared.size, 0);
    assert.equal(joins(), 0);
  });

  test('onJoin counts the callers that joined work in flight, not the ones that started it', async () => {
    const { shared, work, joins } = setup();
    const callers = [
      shared.run('a', undefined, work.produce),
      shared.run('a', undefined, work.produce),
      shared.run('a', new AbortController().signal, work.produce),
      shared.run('b', undefined, work.produce),
    ];
    assert.equal(joins(), 2);
    await settled();
    await work.deliver(0, ...callers.slice(0, 3));
    await work.deliver(1, callers[3]!);
    const later = shared.run('a', undefined, work.produce);
    assert.equal(joins(), 2, 'a call after the work settled starts, it does not join');
    await settled();
    await work.deliver(2, later);
  });

  test('size counts the keys in flight', async () => {
    const { shared, work } = setup();
    assert.equal(shared.size, 0);
    const a = shared.run('a', undefined, work.produce);
    const again = shared.run('a', undefined, work.produce);
    const b = shared.run('b', undefined, work.produce);
    assert.equal(shared.size, 2, 'joining does not add a key');
    await settled();
    await work.deliver(0, a, again);
    assert.equal(shared.size, 1);
    await work.deliver(1, b);
    assert.equal(shared.size, 0);
  });
});
