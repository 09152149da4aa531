/**
 * The sandbox's simulated clock: timers fire in time order as it passes them, and timers due at
 * the same instant fire in the order they were scheduled (a stop storm schedules thousands).
 */
import { describe, expect, it } from 'vitest';
import { SimulatedClock } from '../../functions/sandbox/clock.js';

const START = Date.parse('2026-11-20T00:00:00Z');

describe('SimulatedClock', () => {
  it.each([
    { case: 'in time order', dueAfterMs: [30, 10, 20], fired: [1, 2, 0] },
    { case: 'ties in scheduling order', dueAfterMs: [10, 10, 5, 10], fired: [2, 0, 1, 3] },
    { case: 'one already due first', dueAfterMs: [40, 0, 40, 20], fired: [1, 3, 0, 2] },
  ])('fires timers $case', ({ dueAfterMs, fired }) => {
    // Prepare
    const clock = new SimulatedClock(new Date(START));
    const order: number[] = [];
    dueAfterMs.forEach((after, i) => clock.schedule(START + after, () => order.push(i)));
    // Act
    clock.advance(Math.max(...dueAfterMs));
    // Assess
    expect(order).toEqual(fired);
  });

  it('fires only the timers it has passed', () => {
    const clock = new SimulatedClock(new Date(START));
    const order: number[] = [];
    [5, 50, 15].forEach((after, i) => clock.schedule(START + after, () => order.push(i)));
    clock.advance(20);
    expect(order).toEqual([0, 2]);
    clock.advance(30);
    expect(order).toEqual([0, 2, 1]);
  });
});
