// The one error for a command line that cannot be run (unknown sub-command, bad flag value): the
// command prints the message and its usage text and exits with status 2. Thrown by the API commands
// (cli/) and by `switchyard start` (local/); shared because cli/ imports local/, never the reverse.
export class UsageError extends Error {
  readonly code = 'USAGE' as const;
  /** The usage text to print after the message; the command's own when not given. */
  readonly usage: string | undefined;
  constructor(message: string, usage?: string) {
    super(message);
    this.name = 'UsageError';
    this.usage = usage;
  }
}
