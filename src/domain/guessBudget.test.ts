import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { defaultSignInLimits } from '../service/signInGuard.js';
import { assertBudget, delayAfter, delaySteps } from './guessBudget.js';

const seconds = (ms: number[]) => ms.map((m) => m / 1000);

describe('guessing budgets', () => {
  it('the default delays, as SECURITY.md states them', () => {
    const { perAccountAndAddress, perAccount, perAddress } = defaultSignInLimits;
    assert.deepEqual(seconds(delaySteps(perAccountAndAddress)), [30, 60, 120, 240, 480, 900]);
    assert.deepEqual(seconds(delaySteps(perAccount)), [5, 7.5, 11.25, 16.875, 25.313, 37.969, 56.953, 60]);
    assert.deepEqual(seconds(delaySteps(perAddress)), [60, 120, 240, 480, 900]);
    assert.equal(perAccountAndAddress.free, 5);
    assert.equal(perAccount.free, 20);
    assert.equal(perAddress.free, 50);
    for (const [name, b] of Object.entries(defaultSignInLimits)) assertBudget(name, b);
  });

  it('no wait within the free tries, then each step, then the cap for ever', () => {
    const b = { free: 2, firstDelayMs: 1000, growth: 3, maxDelayMs: 5000, forgetAfterMs: 60_000 };
    assert.deepEqual([0, 1, 2, 3, 4, 5, 100].map((n) => delayAfter(n, b)), [0, 0, 1000, 3000, 5000, 5000, 5000]);
    assert.deepEqual(delaySteps({ ...b, growth: 1 }), [1000], 'no growth: the first delay every time');
  });

  it('refuses a budget that could be waited out, or is not whole numbers', () => {
    const b = { free: 2, firstDelayMs: 1000, growth: 2, maxDelayMs: 5000, forgetAfterMs: 60_000 };
    assert.throws(() => assertBudget('x', { ...b, forgetAfterMs: 5000 }), /not valid/);
    assert.throws(() => assertBudget('x', { ...b, growth: 0.5 }), /not valid/);
    assert.throws(() => assertBudget('x', { ...b, free: 1.5 }), /not valid/);
    assert.throws(() => assertBudget('x', { ...b, firstDelayMs: 6000 }), /not valid/);
  });
});
