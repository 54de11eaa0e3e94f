// `switchyard verifier`: password from stdin (piped or typed at a hidden prompt), verifier on
// stdout, exit code 2 with a message on bad usage or an empty password.
import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createMd5Verifier, createScramVerifier, parseVerifier } from '../../../shared/src/auth/verifier.ts';
import { verifierCommand } from './verifier.ts';

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

function collect(): { stream: PassThrough; text: () => string } {
  const stream = new PassThrough();
  let text = '';
  stream.on('data', (d: Buffer) => (text += d.toString('utf8')));
  return { stream, text: () => text };
}

async function run(argv: string[], input: string | Buffer): Promise<Run> {
  const stdin = new PassThrough();
  const out = collect();
  const err = collect();
  stdin.end(input);
  const code = await verifierCommand(argv, { stdin, stdout: out.stream, stderr: err.stream });
  return { code, stdout: out.text(), stderr: err.text() };
}

/** A fake terminal: isTTY, setRawMode that records its state, keystrokes written by the test. */
function fakeTty(): PassThrough & { isTTY: true; raw: boolean; setRawMode(m: boolean): void } {
  const s = new PassThrough() as PassThrough & { isTTY: true; raw: boolean; setRawMode(m: boolean): void };
  s.isTTY = true;
  s.raw = false;
  s.setRawMode = (m: boolean) => {
    s.raw = m;
  };
  return s;
}

function scramMatches(verifier: string, password: string): boolean {
  const v = parseVerifier(verifier.trim());
  return v.kind === 'scram' && createScramVerifier(password, { salt: v.salt, iterations: v.iterations }) === verifier.trim();
}

describe('switchyard verifier', () => {
  it('prints a SCRAM-SHA-256 verifier of the piped password, trimming one trailing newline', async () => {
    const r = await run([], 'my secret\n');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^SCRAM-SHA-256\$4096:[A-Za-z0-9+/=]+\$[A-Za-z0-9+/=]+:[A-Za-z0-9+/=]+\n$/);
    expect(scramMatches(r.stdout, 'my secret')).toBe(true);
    expect(scramMatches(r.stdout, 'my secret\n')).toBe(false);
  });

  it('trims only one newline (CRLF too), and keeps non-ASCII bytes intact', async () => {
    expect(scramMatches((await run([], 'pw\n\n')).stdout, 'pw\n')).toBe(true);
    expect(scramMatches((await run([], 'pw\r\n')).stdout, 'pw')).toBe(true);
    expect(scramMatches((await run([], Buffer.from('pässwörd'))).stdout, 'pässwörd')).toBe(true);
  });

  it('honours --iterations (both spellings)', async () => {
    expect((await run(['--iterations', '10000'], 'pw')).stdout).toMatch(/^SCRAM-SHA-256\$10000:/);
    expect((await run(['--iterations=5000'], 'pw')).stdout).toMatch(/^SCRAM-SHA-256\$5000:/);
  });

  it('prints an md5 verifier for --md5 --user', async () => {
    const r = await run(['--md5', '--user', 'alice'], 'secret\n');
    expect(r).toEqual({ code: 0, stdout: createMd5Verifier('secret', 'alice') + '\n', stderr: '' });
  });

  const usageErrors: [string, string[], string, RegExp][] = [
    ['empty password', [], '', /empty password/],
    ['only a newline', [], '\n', /empty password/],
    ['--md5 without --user', ['--md5'], 'pw', /--md5 needs --user/],
    ['--user without a name', ['--md5', '--user'], 'pw', /--user needs a user name/],
    ['--user without --md5', ['--user', 'a'], 'pw', /only used with --md5/],
    ['--iterations with --md5', ['--md5', '--user', 'a', '--iterations', '5'], 'pw', /SCRAM-SHA-256 only/],
    ['--iterations 0', ['--iterations', '0'], 'pw', /whole number/],
    ['--iterations abc', ['--iterations', 'abc'], 'pw', /whole number/],
    ['--iterations missing', ['--iterations'], 'pw', /whole number/],
    ['a password on the command line', ['--password', 'hunter2'], '', /never from the command line/],
    ['an unknown argument', ['hunter2'], '', /unknown argument/],
  ];
  it.each(usageErrors)('exits 2 on %s', async (_name, argv, input, message) => {
    const r = await run(argv, input);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(message);
    expect(r.stderr).toContain('usage: switchyard verifier');
  });

  it('--help prints the usage', async () => {
    const r = await run(['--help'], '');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('usage: switchyard verifier');
  });

  it('on a terminal, prompts twice without echo, handling backspace and multi-byte input', async () => {
    const stdin = fakeTty();
    const out = collect();
    const err = collect();
    const done = verifierCommand([], { stdin, stdout: out.stream, stderr: err.stream });
    const type = async (keys: string | Buffer): Promise<void> => {
      await new Promise((r) => setImmediate(r));
      stdin.write(keys);
    };
    const umlaut = Buffer.from('ä');
    await type('pw');
    await type(umlaut.subarray(0, 1)); // a UTF-8 sequence split across reads
    await type(Buffer.concat([umlaut.subarray(1), Buffer.from('x\u007f\u001b[D\r')]));
    await type('pwä\n');
    expect(await done).toBe(0);
    expect(scramMatches(out.text(), 'pwä')).toBe(true);
    expect(err.text()).toBe('Password: \nEnter it again: \n'); // prompts only, nothing echoed
    expect(stdin.raw).toBe(false);
  });

  it('on a terminal, refuses mismatched entries and aborts on Ctrl-C', async () => {
    const mismatch = fakeTty();
    const err = collect();
    const p = verifierCommand([], { stdin: mismatch, stdout: new PassThrough(), stderr: err.stream });
    mismatch.write('one\r');
    await new Promise((r) => setImmediate(r));
    mismatch.write('two\r');
    expect(await p).toBe(2);
    expect(err.text()).toMatch(/do not match/);

    const aborted = fakeTty();
    const q = verifierCommand([], { stdin: aborted, stdout: new PassThrough(), stderr: new PassThrough() });
    aborted.write('abc\u0003');
    expect(await q).toBe(1);
    expect(aborted.raw).toBe(false);
  });
});
