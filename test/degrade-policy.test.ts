/**
 * The degrade policy on its own, with a fake clock: which new variants keep full quality while
 * the transform queue is deep, and how much of the transform time full quality may take.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { costClass, createDegradePolicy, FULL_QUALITY_SHARE, neighbourEstimate, type CostClass } from '../origin/load/degrade-policy.js';

const cheap = costClass('auto-avif', false, 200 * 200, 100_000);
const expensive = costClass('auto-avif', false, 2048 * 2048, 4_000_000);

function clock() {
  let t = 0;
  return { now: () => t, advance: (ms: number) => void (t += ms) };
}

describe('degrade policy', () => {
  test('without pressure nothing is degraded, whatever it costs', () => {
    const policy = createDegradePolicy({ concurrency: 2, now: clock().now });
    policy.observe(expensive, 5_000);
    assert.equal(policy.shouldDegrade(expensive, false), false);
    assert.equal(policy.shouldDegrade(costClass('webp', false, 1, 1), false), false, 'not timed yet');
  });

  test('under pressure a kind of transform never timed is degraded', () => {
    const policy = createDegradePolicy({ concurrency: 2, now: clock().now });
    assert.equal(policy.shouldDegrade(cheap, true), true);
  });

  test('under pressure the cheap requests keep full quality and the expensive ones are degraded', () => {
    const time = clock();
    const policy = createDegradePolicy({ concurrency: 2, now: time.now });
    policy.observe(cheap, 15);
    policy.observe(expensive, 900);
    const decisions = { cheap: 0, expensive: 0 };
    for (let i = 0; i < 200; i++) {
      time.advance(20);
      if (!policy.shouldDegrade(cheap, true)) decisions.cheap++;
      if (!policy.shouldDegrade(expensive, true)) decisions.expensive++;
    }
    assert.equal(decisions.cheap, 200, 'every cheap request at full quality');
    assert.equal(decisions.expensive, 0, 'no expensive one');
  });

  test('under pressure full quality takes at most its share of the transform time', () => {
    const time = clock();
    const concurrency = 2;
    const policy = createDegradePolicy({ concurrency, now: time.now });
    const uniform = costClass('auto-avif', false, 640 * 640, 500_000);
    const cost = 100;
    policy.observe(uniform, cost);
    let full = 0;
    const elapsed = 10_000;
    for (let t = 0; t < elapsed; t += 10) {
      time.advance(10);
      if (!policy.shouldDegrade(uniform, true)) full++;
    }
    const fullMs = full * cost;
    const allowed = FULL_QUALITY_SHARE * concurrency * (elapsed + 1_000); // the share, plus one second saved up
    assert.ok(fullMs <= allowed, `${fullMs} ms of full quality in ${elapsed} ms on ${concurrency} slots`);
    assert.ok(fullMs >= FULL_QUALITY_SHARE * concurrency * elapsed * 0.9, `the share is used: ${fullMs} ms`);
    assert.ok(full < elapsed / 10, 'the rest is degraded');
  });

  test('a class is averaged: one slow outlier does not make a cheap kind expensive for long', () => {
    const time = clock();
    const policy = createDegradePolicy({ concurrency: 2, now: time.now });
    for (let i = 0; i < 20; i++) policy.observe(cheap, 10);
    policy.observe(expensive, 800);
    policy.observe(cheap, 2_000);
    for (let i = 0; i < 10; i++) policy.observe(cheap, 10);
    for (let i = 0; i < 5; i++) policy.shouldDegrade(cheap, false); // requests seen before the pressure
    time.advance(100);
    assert.equal(policy.shouldDegrade(expensive, true), true);
    assert.equal(policy.shouldDegrade(cheap, true), false);
  });

  test('an untimed class is estimated from the nearest timed class of its format: doubled per power of two larger, never halved', () => {
    const timed = new Map<CostClass, number>([
      [costClass('auto-webp', false, 2 ** 16, 2 ** 17), 40],
      [costClass('auto-webp', false, 2 ** 20, 2 ** 17), 300],
    ]);
    assert.equal(neighbourEstimate(costClass('auto-webp', false, 2 ** 17, 2 ** 17), timed), 80, 'twice the pixels of the 40 ms class');
    assert.equal(neighbourEstimate(costClass('auto-webp', false, 2 ** 16, 2 ** 19), timed), 160, 'a source four times as large');
    assert.equal(neighbourEstimate(costClass('auto-webp', false, 2 ** 13, 2 ** 17), timed), 40, 'a smaller output costs at least as much');
    assert.equal(neighbourEstimate(costClass('auto-webp', false, 2 ** 21, 2 ** 17), timed), 600, 'the larger neighbour, scaled');
    assert.equal(neighbourEstimate(costClass('auto-avif', false, 2 ** 16, 2 ** 17), timed), Infinity, 'another format');
    assert.equal(neighbourEstimate(costClass('auto-webp', true, 2 ** 16, 2 ** 17), timed), Infinity, 'the economy settings');
  });

  test('under pressure a new size next to a cheap timed one keeps full quality; a far larger one is degraded', () => {
    const time = clock();
    const policy = createDegradePolicy({ concurrency: 2, now: time.now });
    policy.observe(cheap, 15);
    policy.observe(expensive, 900);
    for (let i = 0; i < 10; i++) policy.shouldDegrade(i < 3 ? cheap : expensive, false);
    time.advance(100);
    // 300x300 is the next power of two of pixels after 200x200: never timed, estimated at 30 ms.
    assert.equal(policy.shouldDegrade(costClass('auto-avif', false, 300 * 300, 100_000), true), false, 'a thumbnail a little larger');
    assert.equal(policy.shouldDegrade(costClass('auto-avif', false, 4096 * 4096, 8_000_000), true), true, 'four times the pixels of the expensive one');
  });
});
