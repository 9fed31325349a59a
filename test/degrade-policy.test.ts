/**
 * The degrade policy on its own, with a fake clock: which new variants keep full quality while
 * the transform queue is deep, and how much of the transform time full quality may take.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { costClass, createDegradePolicy, FULL_QUALITY_SHARE, neighbourEstimate, type CostClass, type DegradePolicy } from '../origin/load/degrade-policy.js';

const cheap = costClass('auto-avif', false, 200 * 200, 100_000);
const expensive = costClass('auto-avif', false, 2048 * 2048, 4_000_000);
/** The economy twin of a class: WebP at the economy settings (economizeSpec). */
const twin = (c: CostClass) => c.replace(/^auto-avif\|full/, 'auto-webp|eco') as CostClass;
const degrades = (policy: DegradePolicy, c: CostClass, pressure: boolean) => policy.shouldDegrade(c, twin(c), pressure);

function clock() {
  let t = 0;
  return { now: () => t, advance: (ms: number) => void (t += ms) };
}

describe('degrade policy', () => {
  test('without pressure nothing is degraded, whatever it costs', () => {
    const policy = createDegradePolicy({ concurrency: 2, now: clock().now });
    policy.observe(expensive, 5_000);
    assert.equal(degrades(policy, expensive, false), false);
    assert.equal(degrades(policy, costClass('webp', false, 1, 1), false), false, 'not timed yet');
  });

  test('under pressure a kind of transform never timed is degraded', () => {
    const policy = createDegradePolicy({ concurrency: 2, now: clock().now });
    assert.equal(degrades(policy, cheap, true), true);
  });

  test('under pressure the cheap requests keep full quality and the expensive ones are degraded', () => {
    const time = clock();
    const policy = createDegradePolicy({ concurrency: 2, now: time.now });
    policy.observe(cheap, 15);
    policy.observe(expensive, 900);
    const decisions = { cheap: 0, expensive: 0 };
    for (let i = 0; i < 200; i++) {
      time.advance(40);
      if (!degrades(policy, cheap, true)) decisions.cheap++;
      if (!degrades(policy, expensive, true)) decisions.expensive++;
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
      if (!degrades(policy, uniform, true)) full++;
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
    for (let i = 0; i < 5; i++) degrades(policy, cheap, false); // requests seen before the pressure
    time.advance(100);
    assert.equal(degrades(policy, expensive, true), true);
    assert.equal(degrades(policy, cheap, true), false);
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
    for (let i = 0; i < 10; i++) degrades(policy, i < 3 ? cheap : expensive, false);
    time.advance(100);
    // 300x300 is the next power of two of pixels after 200x200: never timed, estimated at 30 ms.
    assert.equal(degrades(policy, costClass('auto-avif', false, 300 * 300, 100_000), true), false, 'a thumbnail a little larger');
    assert.equal(degrades(policy, costClass('auto-avif', false, 4096 * 4096, 8_000_000), true), true, 'four times the pixels of the expensive one');
  });

  test('under pressure full quality goes where it costs least beyond the economy twin', () => {
    const time = clock();
    const policy = createDegradePolicy({ concurrency: 2, now: time.now });
    // A 12 MP thumbnail: decoding is most of it, so its twin takes nearly as long. A 640-px AVIF: ten times its twin.
    const thumbnail = costClass('auto-avif', false, 200 * 200, 4_000_000);
    const feed = costClass('auto-avif', false, 640 * 640, 100_000);
    policy.observe(thumbnail, 60);
    policy.observe(twin(thumbnail), 55);
    policy.observe(feed, 40);
    policy.observe(twin(feed), 4);
    const kept = { thumbnail: 0, feed: 0 };
    for (let i = 0; i < 100; i++) {
      time.advance(40);
      if (!degrades(policy, thumbnail, true)) kept.thumbnail++;
      if (!degrades(policy, feed, true)) kept.feed++;
    }
    assert.equal(kept.thumbnail, 100, 'the dearer request whose twin saves 5 ms keeps full quality');
    assert.equal(kept.feed, 0, 'the cheaper one whose twin saves 36 ms is degraded');
  });

  test('a class never timed at full quality is made so once, then judged by its own time', () => {
    const time = clock();
    const policy = createDegradePolicy({ concurrency: 2, now: time.now });
    const avatar = costClass('auto-avif', false, 96 * 96, 100_000);
    const thumbnail = costClass('auto-avif', false, 200 * 200, 100_000);
    policy.observe(avatar, 10);
    policy.observe(twin(avatar), 4);
    for (let i = 0; i < 9; i++) degrades(policy, avatar, true); // recent savings: 6 ms
    // Untimed, the thumbnail is estimated from the avatar (four times the pixels: 40 ms, its twin
    // 16): a saving of 24 ms, above the median, but only an estimate.
    assert.equal(degrades(policy, thumbnail, true), false, 'made at full quality once, to be timed');
    assert.equal(degrades(policy, thumbnail, true), true, 'not again while it is only estimated');
    policy.observe(thumbnail, 20);
    time.advance(1_000);
    assert.equal(degrades(policy, thumbnail, true), false, 'timed at 20 ms, its twin saves 4 ms: below the median');
  });
});
