import { describe, expect, it } from 'vitest';
import { stopRequestId } from '../../functions/budget/stop-request-id.js';
import { nameBasedUuid } from '../../functions/core/request-id.js';

// RFC 9562 layout of a version 5 UUID: the version nibble is 5 and the variant bits are 10.
const VERSION_5 = /^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

describe('stopRequestId', () => {
  const vm = { project: 'ml-training-prod', zone: 'us-central1-a', name: 'low-a100' };
  const period = '2026-11-01T07:00:00.000Z';

  it('is a version 5 UUID that is the same for the same budget, period, tier and VM', () => {
    const id = stopRequestId('b-1', period, '1', vm);
    expect(id).toMatch(VERSION_5);
    expect(stopRequestId('b-1', period, '1', { ...vm })).toBe(id);
  });

  it.each([
    { what: 'budget', other: () => stopRequestId('b-2', period, '1', vm) },
    { what: 'period', other: () => stopRequestId('b-1', '2026-12-01T08:00:00.000Z', '1', vm) },
    { what: 'tier', other: () => stopRequestId('b-1', period, '1.1', vm) },
    { what: 'VM', other: () => stopRequestId('b-1', period, '1', { ...vm, name: 'low-n2-8' }) },
    {
      what: 'zone',
      other: () => stopRequestId('b-1', period, '1', { ...vm, zone: 'us-central1-b' }),
    },
  ])('differs with the $what', ({ other }) => {
    expect(other()).not.toBe(stopRequestId('b-1', period, '1', vm));
  });
});

describe('nameBasedUuid', () => {
  it.each([
    { case: 'the empty name', name: '' },
    { case: 'a request name', name: 'costguard/budget-stop/b-1' },
    { case: 'a name beyond ASCII', name: 'équipe données' },
    { case: 'a long name', name: 'x'.repeat(10_000) },
  ])('gives $case the version 5 layout, the same every time', ({ name }) => {
    expect(nameBasedUuid(name)).toMatch(VERSION_5);
    expect(nameBasedUuid(name)).toBe(nameBasedUuid(name));
  });
});
