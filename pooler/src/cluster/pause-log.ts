// The machine's PAUSE state, for workers that start later (a restart after a crash). Each worker
// keeps its own pause state, so a fresh one would serve a paused tenant; the supervisor records
// the PAUSE / KILL / RESUME commands that succeeded and a new worker replays them before it
// accepts clients (a KILL leaves its tenant paused, so it replays as PAUSE). A RESUME of
// everything ends every pause: the log starts over.
import { fanOutOf } from '../admin/fan-out.ts';

/** Far more than any console session sends; beyond it the oldest entries go. */
const MAX_ENTRIES = 1000;

export class PauseLog {
  #entries: string[] = [];

  /** Records a command that every serving worker applied. */
  applied(command: string): void {
    const f = fanOutOf(command);
    if (f.kind !== 'action') return;
    const text = command.trim().replace(/[\s;]+$/, '');
    const rest = text.replace(/^\S+\s*/, '');
    switch (f.verb) {
      case 'PAUSE':
        this.#push(text);
        return;
      case 'KILL':
        this.#push(`PAUSE ${rest}`);
        return;
      case 'RESUME':
        if (rest === '') this.#entries = [];
        else this.#push(text);
        return;
      default:
        return;
    }
  }

  #push(command: string): void {
    this.#entries.push(command);
    if (this.#entries.length > MAX_ENTRIES) this.#entries.shift();
  }

  /** What a new worker runs, in order (a RESUME that finds nothing paused is harmless). */
  replay(): readonly string[] {
    return [...this.#entries];
  }
}
