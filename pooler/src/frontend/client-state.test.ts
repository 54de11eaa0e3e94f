// The client state diagram (client-state.ts): the moves ClientConnection.enter makes, and no others.
import { describe, expect, it } from 'vitest';
import { ACTIVE, CLOSED, IDLE, LOGGING_IN, LOST, WAITING, mayEnter, stateName, type ClientState } from './client-state.ts';

const ALL: ClientState[] = [LOGGING_IN, IDLE, WAITING, ACTIVE, LOST, CLOSED];
const MOVES = new Set([
  'logging-in>idle',
  'idle>waiting',
  'waiting>active',
  'waiting>idle', // checkout failed, requests answered
  'active>idle', // released, or the server lost between transactions
  'active>lost-transaction', // the server lost inside a transaction block
  'lost-transaction>idle', // the client ended the block
  'logging-in>closed',
  'idle>closed',
  'waiting>closed',
  'active>closed',
  'lost-transaction>closed',
]);

describe('client states', () => {
  it('allow exactly the moves of the diagram', () => {
    for (const from of ALL) {
      for (const to of ALL) {
        expect(mayEnter(from, to), `${stateName(from)} > ${stateName(to)}`).toBe(MOVES.has(`${stateName(from)}>${stateName(to)}`));
      }
    }
  });

  it('never leave CLOSED, never go back to LOGGING_IN', () => {
    for (const s of ALL) {
      expect(mayEnter(CLOSED, s)).toBe(false);
      expect(mayEnter(s, LOGGING_IN)).toBe(false);
    }
  });
});
