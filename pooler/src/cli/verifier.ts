// `switchyard verifier [--md5 --user NAME] [--iterations N]`: turns a password into the verifier a
// tenant's config stores (the same string PostgreSQL would keep in pg_authid), so the plaintext
// never has to be written anywhere. The password is read from stdin, never from argv (argv shows up
// in `ps` and shell history); on a terminal it is prompted for twice without echo.
import { createMd5Verifier, createScramVerifier, DEFAULT_SCRAM_ITERATIONS } from '../../../shared/src/auth/verifier.ts';

export interface CliIo {
  stdin: NodeJS.ReadableStream;
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream;
}

const USAGE = `usage: switchyard verifier [--iterations N]     SCRAM-SHA-256 verifier (default ${DEFAULT_SCRAM_ITERATIONS} iterations)
       switchyard verifier --md5 --user NAME      md5 verifier for the client user NAME
Reads the password from standard input (prompts without echo on a terminal) and prints the verifier.
Example: printf '%s' "$PASSWORD" | switchyard verifier
`;

/** Exit codes: 0 printed, 1 aborted at the prompt, 2 bad usage or empty password. */
export async function verifierCommand(argv: string[], io: CliIo): Promise<number> {
  const usageError = (message: string): number => {
    io.stderr.write(`switchyard verifier: ${message}\n${USAGE}`);
    return 2;
  };

  let md5 = false;
  let user: string | undefined;
  let iterations: number | undefined;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    const eq = arg.indexOf('=');
    const [name, inlineValue] = arg.startsWith('--') && eq !== -1 ? [arg.slice(0, eq), arg.slice(eq + 1)] : [arg, undefined];
    const value = (): string | undefined => inlineValue ?? argv[++i];
    switch (name) {
      case '-h':
      case '--help':
        io.stdout.write(USAGE);
        return 0;
      case '--md5':
        if (inlineValue !== undefined) return usageError('--md5 takes no value');
        md5 = true;
        break;
      case '--user': {
        const v = value();
        if (v === undefined || v === '') return usageError('--user needs a user name');
        user = v;
        break;
      }
      case '--iterations': {
        const v = value();
        if (v === undefined || !/^[1-9][0-9]*$/.test(v) || Number(v) > 0x7fffffff) {
          return usageError('--iterations needs a whole number between 1 and 2147483647');
        }
        iterations = Number(v);
        break;
      }
      case '--password':
      case '-p':
        return usageError('the password is read from standard input, never from the command line');
      default:
        return usageError(`unknown argument "${arg}"`);
    }
  }
  if (md5 && user === undefined) return usageError('--md5 needs --user NAME (the md5 hash includes the user name)');
  if (md5 && iterations !== undefined) return usageError('--iterations applies to SCRAM-SHA-256 only, not --md5');
  if (!md5 && user !== undefined) return usageError('--user is only used with --md5 (SCRAM verifiers do not include the user name)');

  let password: string | undefined;
  if (isTty(io.stdin)) {
    password = await promptHidden(io.stdin, io.stderr, 'Password: ');
    if (password === undefined) {
      io.stderr.write('switchyard verifier: aborted\n');
      return 1;
    }
    if (password !== '') {
      const again = await promptHidden(io.stdin, io.stderr, 'Enter it again: ');
      if (again === undefined) {
        io.stderr.write('switchyard verifier: aborted\n');
        return 1;
      }
      if (again !== password) return usageError('the passwords do not match');
    }
  } else {
    password = stripOneNewline(await readAll(io.stdin));
  }
  if (password === '') return usageError('empty password');

  io.stdout.write((md5 ? createMd5Verifier(password, user as string) : createScramVerifier(password, { iterations })) + '\n');
  return 0;
}

interface TtyInput extends NodeJS.ReadableStream {
  isTTY: true;
  setRawMode(mode: boolean): unknown;
}

function isTty(s: NodeJS.ReadableStream): s is TtyInput {
  const t = s as Partial<TtyInput>;
  return t.isTTY === true && typeof t.setRawMode === 'function';
}

/** "pw\n" → "pw", "pw\r\n" → "pw"; only one newline, so a password may itself end in one. */
function stripOneNewline(s: string): string {
  if (s.endsWith('\r\n')) return s.slice(0, -2);
  if (s.endsWith('\n')) return s.slice(0, -1);
  return s;
}

async function readAll(stream: NodeJS.ReadableStream): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(typeof chunk === 'string' ? Buffer.from(chunk, 'utf8') : chunk);
  return Buffer.concat(chunks).toString('utf8');
}

/**
 * Reads one line in raw mode without echo. Enter ends it, Backspace deletes, Ctrl-C aborts
 * (undefined), Ctrl-D on an empty line ends it empty.
 */
function promptHidden(input: TtyInput, output: NodeJS.WritableStream, prompt: string): Promise<string | undefined> {
  output.write(prompt);
  input.setRawMode(true);
  input.setEncoding('utf8'); // decodes UTF-8 sequences split across reads
  input.resume();
  return new Promise((resolve) => {
    let line = '';
    let inEscape = false;
    const finish = (result: string | undefined): void => {
      input.removeListener('data', onData);
      input.setRawMode(false);
      input.pause();
      output.write('\n');
      resolve(result);
    };
    const onData = (data: string | Buffer): void => {
      for (const ch of String(data)) {
        if (inEscape) {
          // An escape sequence (arrow keys etc.): ESC [ ... final letter or '~'.
          if (/[A-Za-z~]/.test(ch)) inEscape = false;
          continue;
        }
        if (ch === '\u001b') {
          inEscape = true;
          continue;
        }
        if (ch === '\r' || ch === '\n') return finish(line);
        if (ch === '\u0003') return finish(undefined);
        if (ch === '\u0004') {
          if (line === '') return finish('');
          continue;
        }
        if (ch === '\u007f' || ch === '\b') {
          line = Array.from(line).slice(0, -1).join('');
          continue;
        }
        if (ch < ' ') continue; // other control keys are ignored
        line += ch;
      }
    };
    input.on('data', onData);
  });
}
