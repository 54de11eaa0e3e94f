// The `switchyard` command: one sub-command per file.
const [command, ...args] = process.argv.slice(2);

const usage = `usage: switchyard <command> [options]

commands:
  pooler --config FILE      run the pooler
  verifier [--md5 --user U] print a PostgreSQL verifier for a password read from stdin
`;

async function main(): Promise<number> {
  switch (command) {
    case 'pooler': {
      const { poolerCommand } = await import('../pooler/src/main.ts');
      return poolerCommand(args);
    }
    case 'verifier': {
      const { verifierCommand } = await import('../pooler/src/cli/verifier.ts');
      return verifierCommand(args, { stdin: process.stdin, stdout: process.stdout, stderr: process.stderr });
    }
    case undefined:
    case 'help':
    case '--help':
    case '-h':
      process.stdout.write(usage);
      return command === undefined ? 2 : 0;
    default:
      process.stderr.write(`switchyard: unknown command "${command}"\n${usage}`);
      return 2;
  }
}

process.exitCode = await main();
