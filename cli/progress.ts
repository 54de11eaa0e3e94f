// Progress for anything that takes more than a second: nothing for quick answers; after a second a
// spinner with the elapsed time on a terminal (stderr), or one "label..." line when stderr is a
// file or pipe (so logs stay readable). The line is cleared when the work ends.
const FRAMES = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'];
export const PROGRESS_DELAY_MS = 1000;

export async function withProgress<T>(stderr: NodeJS.WritableStream, label: string, work: Promise<T>): Promise<T> {
  const tty = (stderr as NodeJS.WriteStream).isTTY === true;
  const started = Date.now();
  let frame = 0;
  let shown = false;
  let ticker: NodeJS.Timeout | undefined;
  const draw = (): void => {
    const s = ((Date.now() - started) / 1000).toFixed(1);
    stderr.write(`\r${FRAMES[frame++ % FRAMES.length]} ${label} ${s}s`);
  };
  const delay = setTimeout(() => {
    shown = true;
    if (tty) {
      draw();
      ticker = setInterval(draw, 100);
    } else {
      stderr.write(`${label}...\n`);
    }
  }, PROGRESS_DELAY_MS);
  try {
    return await work;
  } finally {
    clearTimeout(delay);
    if (ticker) clearInterval(ticker);
    if (shown && tty) stderr.write('\r\x1b[2K');
  }
}
