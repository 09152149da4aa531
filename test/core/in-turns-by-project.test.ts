import { describe, expect, it } from 'vitest';
import { inTurnsByProject } from '../../functions/adapters/compute.js';

describe('stop requests taken one project after another', () => {
  it.each([
    { case: 'no targets', projects: [], order: [] },
    { case: 'one project keeps its order', projects: ['a', 'a', 'a'], order: [0, 1, 2] },
    {
      case: 'grouped projects interleave',
      projects: ['a', 'a', 'a', 'b', 'b', 'c'],
      order: [0, 3, 5, 1, 4, 2],
    },
    {
      case: 'already mixed projects stay mixed',
      projects: ['a', 'b', 'a', 'b'],
      order: [0, 1, 2, 3],
    },
  ])('$case', ({ projects, order }) => {
    expect(inTurnsByProject(projects)).toEqual(order);
  });
});
