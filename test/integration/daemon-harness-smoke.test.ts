import { afterEach, describe, expect, it } from 'vitest';
import { DOWN, type Harness, startHarness } from '../support/daemon-harness.js';

let h: Harness | undefined;
afterEach(async () => {
  await h?.stop();
  h = undefined;
});

describe('daemon harness', () => {
  it('serves every name at home once probed, and moves api.r3 when r3 fails for failAfter', async () => {
    h = await startHarness();
    await h.advance(5_000);
    expect(h.weights('api.r3.example.com')).toEqual({ r3: 100, r1: 0, r2: 0 });
    h.answers.set('r3.gateway.gw3', DOWN);
    await h.advance(2_500);
    expect(h.weights('api.r3.example.com').r3).toBe(100);
    await h.advance(3_000);
    expect(h.weights('api.r3.example.com')).toEqual({ r3: 0, r1: 100, r2: 0 });
  });
});
