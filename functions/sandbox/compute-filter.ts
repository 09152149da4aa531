/**
 * The subset of the Compute `filter` language the sandbox understands: comparisons
 * `field = value`, `field != value`, `field : value` (`labels.team:*` tests presence),
 * `field eq regex`, `field ne regex`; terms joined by juxtaposition or AND/OR, with parentheses
 * and NOT. Values may be quoted; `*` in an `=` value is a wildcard.
 */

import { textOf } from './http.js';

export type Predicate = (resource: Record<string, unknown>) => boolean;

type Token = { kind: 'lparen' | 'rparen' | 'word' | 'string' | 'op'; text: string };

function tokenize(filter: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < filter.length) {
    const c = filter[i] as string;
    if (/\s/.test(c)) {
      i++;
    } else if (c === '(' || c === ')') {
      tokens.push({ kind: c === '(' ? 'lparen' : 'rparen', text: c });
      i++;
    } else if (c === '"' || c === "'") {
      const end = filter.indexOf(c, i + 1);
      if (end < 0) throw new Error('unterminated string');
      tokens.push({ kind: 'string', text: filter.slice(i + 1, end) });
      i = end + 1;
    } else if (filter.startsWith('!=', i)) {
      tokens.push({ kind: 'op', text: '!=' });
      i += 2;
    } else if (c === '=' || c === ':' || c === '<' || c === '>') {
      tokens.push({ kind: 'op', text: c });
      i++;
    } else {
      const match = /^[^\s()=:!<>"']+/.exec(filter.slice(i));
      if (!match) throw new Error(`unexpected character ${c}`);
      tokens.push({ kind: 'word', text: match[0] });
      i += match[0].length;
    }
  }
  return tokens;
}

function lookup(resource: Record<string, unknown>, field: string): unknown {
  let value: unknown = resource;
  for (const part of field.split('.')) {
    if (typeof value !== 'object' || value === null) return undefined;
    value = (value as Record<string, unknown>)[part];
  }
  return value;
}

function wildcard(pattern: string): RegExp {
  return new RegExp(
    `^${pattern
      .split('*')
      .map((s) => s.replace(/[.+?^${}()|[\]\\]/g, '\\$&'))
      .join('.*')}$`,
  );
}

function asText(value: unknown): string | undefined {
  if (value === undefined || value === null) return undefined;
  return textOf(value);
}

export function compileFilter(filter: string | null | undefined, knownFields: RegExp): Predicate {
  if (!filter?.trim()) return () => true;
  const tokens = tokenize(filter);
  let pos = 0;
  const peek = (): Token | undefined => tokens[pos];

  const comparison = (): Predicate => {
    const field = tokens[pos++];
    const op = tokens[pos++];
    const value = tokens[pos++];
    if (field?.kind !== 'word' || !value || (value.kind !== 'word' && value.kind !== 'string')) {
      throw new Error('expected "field operator value"');
    }
    if (!knownFields.test(field.text)) throw new Error(`unsupported field ${field.text}`);
    const opText = op?.kind === 'op' || op?.kind === 'word' ? op.text : '';
    const expected = value.text;
    switch (opText) {
      case '=': {
        const pattern = wildcard(expected);
        return (r) => {
          const actual = asText(lookup(r, field.text));
          return actual !== undefined && pattern.test(actual);
        };
      }
      case '!=': {
        const pattern = wildcard(expected);
        return (r) => {
          const actual = asText(lookup(r, field.text));
          return actual === undefined || !pattern.test(actual);
        };
      }
      case ':':
        return (r) => {
          const actual = asText(lookup(r, field.text));
          return actual !== undefined && (expected === '*' || actual.includes(expected));
        };
      case 'eq':
      case 'ne': {
        const regex = new RegExp(`^(?:${expected})$`);
        return (r) => {
          const actual = asText(lookup(r, field.text)) ?? '';
          return regex.test(actual) === (opText === 'eq');
        };
      }
      default:
        throw new Error(`unsupported operator ${opText}`);
    }
  };

  const term = (): Predicate => {
    const token = peek();
    if (token?.kind === 'word' && token.text === 'NOT') {
      pos++;
      const inner = term();
      return (r) => !inner(r);
    }
    if (token?.kind === 'lparen') {
      pos++;
      const inner = expression();
      if (peek()?.kind !== 'rparen') throw new Error('missing )');
      pos++;
      return inner;
    }
    return comparison();
  };

  const expression = (): Predicate => {
    let left = term();
    for (;;) {
      const token = peek();
      if (!token || token.kind === 'rparen') return left;
      let join = 'AND';
      if (token.kind === 'word' && (token.text === 'AND' || token.text === 'OR')) {
        join = token.text;
        pos++;
      }
      const right = term();
      const l = left;
      left = join === 'AND' ? (r) => l(r) && right(r) : (r) => l(r) || right(r);
    }
  };

  const predicate = expression();
  if (pos !== tokens.length) throw new Error('unexpected trailing input');
  return predicate;
}
