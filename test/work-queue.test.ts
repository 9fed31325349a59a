/**
 * The bounded queue without sockets: tasks are hand-settled promises, so each test decides when a
 * slot frees. Only the wait budget and the predicted wait need real time, and those tests assert
 * what the queue does (refuse or admit), never how long anything took.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { createWorkQueue, type WorkQueue, type WorkQueueOptions } from '../origin/load/work-queue.js';
import { OverloadedError } from '../origin/errors.js';
import { deferred, isSame, settled } from './helpers/deferred.js';

/** Long enough never to run out while a test holds a slot by hand. */
const PATIENT_MS = 60_000;

function queueOf(options: Partial<WorkQueueOptions> = {}) {
  return createWorkQueue({ concurrency: 1, maxQueue: 10, maxWaitMs: PATIENT_MS, ...options });
}

/**
 * Tasks that wait until released by hand; `started` lists the names in the order the queue
 * started them, and `active`/`peak` count how many ran at once.
 */
function taskBoard() {
  const started: string[] = [];
  const releases = new Map<string, (value: string) => void>();
  let active = 0;
  let peak = 0;
  const task = (name: string) => () => {
    started.push(name);
    peak = Math.max(peak, ++active);
    const gate = deferred<string>();
    releases.set(name, gate.resolve);
    return gate.promise.finally(() => active--);
  };
  /** Lets the named task finish (with its own name as the result) and the queue react. */
  const release = async (name: string) => {
    const resolve = releases.get(name);
    assert.ok(resolve, `${name} has not started`);
    resolve(name);
    await settled();
  };
  return { task, release, started, peak: () => peak };
}

/**
 * `queue` with its slot taken by a task named `busy`; `free()` ends that task and checks that it
 * delivered its result.
 */
function occupied(queue: WorkQueue) {
  const board = taskBoard();
  const busy = queue.run(board.task('busy'));
  const free = async () => {
    await board.release('busy');
    assert.equal(await busy, 'busy');
  };
  return { board, free };
}

const isOverloaded = (message: RegExp) => (error: unknown) =>
  error instanceof OverloadedError && error.status === 503 && error.code === 'OVERLOADED' && message.test(error.message);

describe('work queue', () => {
  test('at most `concurrency` tasks run at once; the rest start as slots free', async () => {
    const queue = queueOf({ concurrency: 2 });
    const board = taskBoard();
    const results = ['a', 'b', 'c', 'd'].map((name) => queue.run(board.task(name)));
    await settled();
    assert.deepEqual(board.started, ['a', 'b']);
    assert.deepEqual([queue.running, queue.queued], [2, 2]);
    await board.release('a');
    assert.deepEqual(board.started, ['a', 'b', 'c']);
    assert.deepEqual([queue.running, queue.queued], [2, 1]);
    await board.release('b');
    await board.release('c');
    await board.release('d');
    assert.deepEqual(await Promise.all(results), ['a', 'b', 'c', 'd']);
    assert.equal(board.peak(), 2);
    assert.deepEqual([queue.running, queue.queued], [0, 0]);
  });

  test('waiters start in the order they asked (FIFO)', async () => {
    const queue = queueOf();
    const board = taskBoard();
    const results = ['first', 'second', 'third', 'fourth'].map((name) => queue.reserve().run(board.task(name)));
    for (const name of ['first', 'second', 'third', 'fourth']) await board.release(name);
    assert.deepEqual(board.started, ['first', 'second', 'third', 'fourth']);
    await Promise.all(results);
  });

  test('past `maxQueue` reservations, reserve() throws OverloadedError synchronously', async () => {
    const queue = queueOf({ maxQueue: 2 });
    const { free } = occupied(queue);
    const places = [queue.reserve(), queue.reserve()];
    assert.equal(queue.queued, 2);
    assert.throws(() => queue.reserve(), isOverloaded(/full/));
    assert.equal(queue.queued, 2, 'a refusal takes no place');
    // A cancelled reservation frees its place for the next comer.
    places[0]!.cancel();
    assert.equal(queue.queued, 1);
    const next = queue.reserve();
    assert.equal(queue.queued, 2);
    next.cancel();
    places[1]!.cancel();
    await free();
  });

  test('with `maxQueue` 0 nothing waits: a free slot is taken, a busy one refused', async () => {
    const queue = queueOf({ maxQueue: 0 });
    const { free } = occupied(queue);
    assert.throws(() => queue.reserve(), isOverloaded(/full/));
    await free();
    queue.reserve().cancel();
  });

  test('cancelling twice frees one place only; a cancelled or used reservation cannot run', async () => {
    const queue = queueOf();
    const kept = queue.reserve();
    const cancelled = queue.reserve();
    cancelled.cancel();
    cancelled.cancel();
    assert.equal(queue.queued, 1, 'the second cancel does not free another place');
    assert.throws(() => cancelled.run(async () => 'never'), /already used/);
    assert.equal(await kept.run(async () => 'ran'), 'ran');
    assert.throws(() => kept.run(async () => 'twice'), /already used/);
    assert.deepEqual([queue.running, queue.queued], [0, 0]);
  });

  test('counters: a reservation is queued until its task runs, then running until it ends', async () => {
    const queue = queueOf();
    const board = taskBoard();
    const place = queue.reserve();
    assert.deepEqual([queue.running, queue.queued], [0, 1]);
    const result = place.run(board.task('a'));
    assert.deepEqual([queue.running, queue.queued], [1, 0]);
    await board.release('a');
    assert.equal(await result, 'a');
    assert.deepEqual([queue.running, queue.queued], [0, 0]);
  });

  test('a waiter whose signal aborts leaves the queue before running, with its abort reason', async () => {
    const queue = queueOf();
    const { board, free } = occupied(queue);
    const leaving = new AbortController();
    const left = queue.run(board.task('left'), leaving.signal);
    const after = queue.run(board.task('after'));
    assert.equal(queue.queued, 2);
    const reason = new Error('client went away');
    leaving.abort(reason);
    await assert.rejects(left, isSame(reason));
    assert.equal(queue.queued, 1);
    await free();
    await board.release('after');
    assert.deepEqual(board.started, ['busy', 'after'], 'the task that left never ran');
    assert.equal(await after, 'after');
  });

  test('an already-aborted signal rejects at once and frees the reservation', async () => {
    const queue = queueOf();
    const board = taskBoard();
    const reason = new Error('already gone');
    const place = queue.reserve();
    await assert.rejects(place.run(board.task('never'), AbortSignal.abort(reason)), isSame(reason));
    assert.deepEqual(board.started, []);
    assert.deepEqual([queue.running, queue.queued], [0, 0]);
  });

  test('an abort after the task started, at once or after waiting, does not reject it', async () => {
    const queue = queueOf();
    const board = taskBoard();
    const first = new AbortController();
    const second = new AbortController();
    const started = queue.run(board.task('first'), first.signal);
    const waited = queue.run(board.task('second'), second.signal);
    first.abort(new Error('too late'));
    await board.release('first');
    assert.deepEqual(board.started, ['first', 'second']);
    second.abort(new Error('too late'));
    await board.release('second');
    assert.deepEqual(await Promise.all([started, waited]), ['first', 'second']);
  });

  test('a failing task rejects its caller and frees its slot for the next waiter', async () => {
    const queue = queueOf();
    const board = taskBoard();
    const failure = new Error('decode failed');
    const failing = queue.run(async () => {
      await settled();
      throw failure;
    });
    const next = queue.run(board.task('next'));
    await assert.rejects(failing, isSame(failure));
    await settled();
    assert.deepEqual(board.started, ['next']);
    await board.release('next');
    assert.equal(await next, 'next');
  });

  test('a waiter still waiting when `maxWaitMs` passes is refused with OverloadedError and never runs', async () => {
    const queue = queueOf({ maxWaitMs: 20 });
    const { board, free } = occupied(queue);
    const waiter = queue.run(board.task('waiter'));
    await assert.rejects(waiter, isOverloaded(/waited longer/));
    assert.equal(queue.queued, 0);
    await free();
    assert.deepEqual(board.started, ['busy']);
  });

  test('with `giveUpMs`, an admitted waiter outlasts `maxWaitMs` and runs when a slot frees; past `giveUpMs` it is refused', async () => {
    const queue = queueOf({ maxWaitMs: 10, giveUpMs: PATIENT_MS });
    const { board, free } = occupied(queue);
    const waiter = queue.run(board.task('waiter'));
    await sleep(50);
    assert.equal(queue.queued, 1, 'still waiting, five budgets later');
    await free();
    await board.release('waiter');
    assert.equal(await waiter, 'waiter');

    const impatient = queueOf({ maxWaitMs: 10, giveUpMs: 30 });
    const held = occupied(impatient);
    await assert.rejects(impatient.run(held.board.task('late')), isOverloaded(/waited longer/));
    await held.free();
  });

  describe('memory budget', () => {
    test('tasks start while their estimates fit together; a free slot waits for memory, and is counted', async () => {
      let memoryWaits = 0;
      const queue = queueOf({ concurrency: 3, memoryBytes: 100, onMemoryWait: () => memoryWaits++ });
      const board = taskBoard();
      const results = [
        queue.run(board.task('big'), undefined, 70),
        queue.run(board.task('small'), undefined, 20),
        queue.run(board.task('second big'), undefined, 70),
      ];
      await settled();
      assert.deepEqual(board.started, ['big', 'small'], 'the second big one would take the running ones to 160');
      assert.deepEqual([queue.running, queue.runningBytes, memoryWaits], [2, 90, 1]);
      await board.release('small');
      assert.deepEqual(board.started, ['big', 'small'], '70 + 70 still does not fit');
      await board.release('big');
      assert.deepEqual(board.started, ['big', 'small', 'second big']);
      assert.equal(queue.runningBytes, 70);
      await board.release('second big');
      assert.deepEqual(await Promise.all(results), ['big', 'small', 'second big']);
      assert.equal(queue.runningBytes, 0);
    });

    test('a task larger than the whole budget runs alone, and waiters behind it do not overtake it', async () => {
      const queue = queueOf({ concurrency: 3, memoryBytes: 100 });
      const board = taskBoard();
      const results = [
        queue.run(board.task('small'), undefined, 10),
        queue.run(board.task('huge'), undefined, 500),
        queue.run(board.task('after'), undefined, 10),
      ];
      await settled();
      assert.deepEqual(board.started, ['small'], 'the huge one waits for the small one; the one after it waits its turn');
      await board.release('small');
      assert.deepEqual(board.started, ['small', 'huge']);
      await board.release('huge');
      assert.deepEqual(board.started, ['small', 'huge', 'after']);
      await board.release('after');
      await Promise.all(results);
    });

    test('a large waiter that gives up lets the ones behind it start', async () => {
      const queue = queueOf({ concurrency: 3, memoryBytes: 100 });
      const board = taskBoard();
      const running = queue.run(board.task('running'), undefined, 60);
      const quitter = new AbortController();
      const large = queue.run(board.task('large'), quitter.signal, 60);
      const small = queue.run(board.task('small'), undefined, 10);
      await settled();
      assert.deepEqual(board.started, ['running']);
      quitter.abort(new Error('gone'));
      await assert.rejects(large, /gone/);
      await settled();
      assert.deepEqual(board.started, ['running', 'small']);
      await board.release('running');
      await board.release('small');
      await Promise.all([running, small]);
    });

    test('one task ending can start several waiters at once', async () => {
      const queue = queueOf({ concurrency: 3, memoryBytes: 100 });
      const board = taskBoard();
      const results = [queue.run(board.task('big'), undefined, 90), queue.run(board.task('a'), undefined, 40), queue.run(board.task('b'), undefined, 40)];
      await settled();
      assert.deepEqual(board.started, ['big']);
      await board.release('big');
      assert.deepEqual(board.started, ['big', 'a', 'b']);
      assert.equal(board.peak(), 2);
      await board.release('a');
      await board.release('b');
      await Promise.all(results);
    });

    test('without a budget, estimates never hold a task back', async () => {
      const queue = queueOf({ concurrency: 2 });
      const board = taskBoard();
      const results = [queue.run(board.task('a'), undefined, 1e12), queue.run(board.task('b'), undefined, 1e12)];
      await settled();
      assert.deepEqual(board.started, ['a', 'b']);
      await board.release('a');
      await board.release('b');
      await Promise.all(results);
    });
  });

  describe('predicted wait', () => {
    /** A queue whose one finished task took real, measurable time (a sleep far above the budget below). */
    async function queueThatHasWorked(maxWaitMs: number) {
      const queue = queueOf({ maxWaitMs });
      await queue.run(() => sleep(40));
      return queue;
    }

    test('before any task has taken time, a busy queue still admits', async () => {
      const queue = queueOf({ maxWaitMs: 10 });
      const { free } = occupied(queue);
      queue.reserve().cancel();
      await free();
    });

    test('once tasks have taken longer than the wait budget, a busy queue refuses at reserve()', async () => {
      const queue = await queueThatHasWorked(10);
      const { free } = occupied(queue);
      assert.throws(() => queue.reserve(), isOverloaded(/predicted wait/));
      assert.equal(queue.queued, 0);
      await free();
      // With a slot free there is no wait to predict.
      queue.reserve().cancel();
    });

    test('the same history within a generous budget admits', async () => {
      const queue = await queueThatHasWorked(PATIENT_MS);
      const { free } = occupied(queue);
      const place = queue.reserve();
      assert.equal(queue.queued, 1);
      place.cancel();
      await free();
    });
  });
});
