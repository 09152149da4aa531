import { describe, expect, it } from 'vitest';
import {
  machineFamilyOf,
  pickCandidate,
  type CandidateLook,
  type ZoneRate,
} from '../../functions/runs/pick-candidate.js';

const idle = (zone: string, instance = 'runner', machineFamily = 'n2'): CandidateLook => ({
  zone,
  instance,
  machineFamily,
});
const rate = (zone: string, preemptions: number, spotVmHours: number, family = 'n2'): ZoneRate => ({
  zone,
  machineFamily: family,
  preemptions,
  spotVmHours,
});

describe('pickCandidate', () => {
  it.each<{
    case: string;
    looks: CandidateLook[];
    rates: ZoneRate[];
    chosen: string | null;
    verdicts: string[];
  }>([
    {
      case: 'the idle candidate with the lowest rate',
      looks: [idle('us-east1-b'), idle('us-east1-c'), idle('us-east1-d')],
      rates: [rate('us-east1-b', 6, 200), rate('us-east1-c', 1, 100), rate('us-east1-d', 4, 100)],
      chosen: 'us-east1-c/runner',
      verdicts: ['eligible', 'chosen', 'eligible'],
    },
    {
      case: 'a busy candidate is passed over however low its rate',
      looks: [
        {
          ...idle('us-east1-b'),
          unavailable: { kind: 'busy', reason: 'the VM is claimed by another run' },
        },
        idle('us-east1-c'),
      ],
      rates: [rate('us-east1-b', 0, 500), rate('us-east1-c', 9, 100)],
      chosen: 'us-east1-c/runner',
      verdicts: ['busy', 'chosen'],
    },
    {
      case: 'a measured rate ranks before a zone without recorded hours',
      looks: [idle('us-east1-b'), idle('us-east1-c')],
      rates: [rate('us-east1-c', 30, 100)],
      chosen: 'us-east1-c/runner',
      verdicts: ['eligible', 'chosen'],
    },
    {
      case: 'without hours anywhere, fewest preemptions first',
      looks: [idle('us-east1-b'), idle('us-east1-c')],
      rates: [rate('us-east1-b', 2, 0)],
      chosen: 'us-east1-c/runner',
      verdicts: ['eligible', 'chosen'],
    },
    {
      case: 'without any history, the first listed',
      looks: [idle('us-east1-c'), idle('us-east1-b')],
      rates: [],
      chosen: 'us-east1-c/runner',
      verdicts: ['chosen', 'eligible'],
    },
    {
      case: 'equal rates keep the listed order',
      looks: [idle('us-east1-d'), idle('us-east1-b')],
      rates: [rate('us-east1-b', 1, 100), rate('us-east1-d', 2, 200)],
      chosen: 'us-east1-d/runner',
      verdicts: ['chosen', 'eligible'],
    },
    {
      case: 'a rate of another machine family in the zone does not count',
      looks: [idle('us-east1-b', 'runner', 'c2'), idle('us-east1-c', 'runner', 'c2')],
      rates: [rate('us-east1-b', 0, 100, 'n2'), rate('us-east1-c', 1, 100, 'c2')],
      chosen: 'us-east1-c/runner',
      verdicts: ['eligible', 'chosen'],
    },
    {
      case: 'none when every candidate is missing, running or busy',
      looks: [
        {
          ...idle('us-east1-b'),
          unavailable: { kind: 'missing', reason: 'the VM does not exist' },
        },
        {
          ...idle('us-east1-c'),
          unavailable: { kind: 'not-terminated', reason: 'the VM is RUNNING' },
        },
      ],
      rates: [],
      chosen: null,
      verdicts: ['missing', 'not-terminated'],
    },
  ])('$case', ({ looks, rates, chosen, verdicts }) => {
    const { placement } = pickCandidate(looks, rates);

    expect(placement.chosen).toBe(chosen);
    expect(placement.candidates.map((c) => c.verdict)).toEqual(verdicts);
  });

  it('says for each candidate its rate, or why it could not be taken', () => {
    // Prepare
    const looks: CandidateLook[] = [
      idle('us-east1-b', 'runner-b'),
      {
        ...idle('us-east1-c', 'runner-c'),
        unavailable: { kind: 'not-terminated', reason: 'the VM is RUNNING' },
      },
      idle('us-east1-d', 'runner-d'),
    ];
    const rates = [rate('us-east1-b', 3, 120), rate('us-east1-d', 1, 160)];

    // Act
    const { chosen, placement } = pickCandidate(looks, rates);

    // Assess
    expect(chosen).toBe(2);
    expect(placement).toMatchObject({ chosen: 'us-east1-d/runner-d', windowDays: 7 });
    expect(placement.candidates).toEqual([
      {
        zone: 'us-east1-b',
        instance: 'runner-b',
        verdict: 'eligible',
        machineFamily: 'n2',
        preemptionsPer100Hours: 2.5,
        preemptions: 3,
        spotVmHours: 120,
        reason:
          'idle, ranked 2 of 2: 2.5 preemptions per 100 Spot VM-hours (3 in 120 h over 7 days)',
      },
      {
        zone: 'us-east1-c',
        instance: 'runner-c',
        verdict: 'not-terminated',
        machineFamily: 'n2',
        preemptionsPer100Hours: null,
        preemptions: 0,
        spotVmHours: 0,
        reason: 'not-terminated: the VM is RUNNING',
      },
      {
        zone: 'us-east1-d',
        instance: 'runner-d',
        verdict: 'chosen',
        machineFamily: 'n2',
        preemptionsPer100Hours: 0.625,
        preemptions: 1,
        spotVmHours: 160,
        reason: 'chosen: 0.625 preemptions per 100 Spot VM-hours (1 in 160 h over 7 days)',
      },
    ]);
  });
});

describe('machineFamilyOf', () => {
  it.each([
    { machineType: 'n2-standard-8', family: 'n2' },
    { machineType: 'c2-standard-8', family: 'c2' },
    { machineType: 'e2-medium', family: 'e2' },
    { machineType: 'f1', family: 'f1' },
  ])('$machineType is $family', ({ machineType, family }) => {
    expect(machineFamilyOf(machineType)).toBe(family);
  });
});
