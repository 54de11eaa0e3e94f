// What a worker started later replays of the machine's pause state: PAUSE and KILL (as PAUSE) in
// order, RESUME of one database after them, nothing once everything was resumed.
import { describe, expect, it } from 'vitest';
import { PauseLog } from './pause-log.ts';

describe('PauseLog', () => {
  it('replays pauses and kills as pauses, in order, with targeted resumes', () => {
    const log = new PauseLog();
    log.applied('PAUSE acme;');
    log.applied('kill "My App"');
    log.applied('RECONNECT acme');
    log.applied('RELOAD');
    log.applied('RESUME acme');
    expect(log.replay()).toEqual(['PAUSE acme', 'PAUSE "My App"', 'RESUME acme']);
  });

  it('forgets everything on a RESUME of all databases', () => {
    const log = new PauseLog();
    log.applied('PAUSE');
    log.applied('KILL acme');
    log.applied('resume');
    expect(log.replay()).toEqual([]);
    log.applied('PAUSE other');
    expect(log.replay()).toEqual(['PAUSE other']);
  });

  it('ignores what is not an action', () => {
    const log = new PauseLog();
    log.applied('SHOW POOLS');
    log.applied('SELECT 1');
    expect(log.replay()).toEqual([]);
  });
});
