// The `switchyard` command: one sub-command per file.
const [command, ...args] = process.argv.slice(2);

const usage = `usage: switchyard <command> [options]

commands:
  start                     run the whole system on this machine (PostgreSQL primary + standby,
                            control API, pooler); Ctrl-C stops it
  tenants ...               create | list | show | move | delete | rotate-password
  clusters ...              list | get <id> | budget <id> | delete <id> | failover <id> | switchover <id>
  status                    pools, clients, the config version the pooler applied
  pooler --config FILE      run the pooler
  verifier [--md5 --user U] print a PostgreSQL verifier for a password read from stdin

\`switchyard <command> --help\` for a command's options. tenants/clusters/status talk to the
control API: --api URL, or SWITCHYARD_API (default: the local stack's, http://127.0.0.1:8080),
with the local stack's token (<state dir>/api-token, or SWITCHYARD_API_TOKEN).
`;

async function main(): Promise<number> {
  switch (command) {
    case 'pooler': {
      const { poolerCommand } = await import('../pooler/src/main.ts');
      return poolerCommand(args);
    }
    case 'start': {
      const { startCommand } = await import('../local/start-command.ts');
      return startCommand(args);
    }
    case 'tenants':
    case 'clusters':
    case 'status': {
      const { apiCommand } = await import('./api-commands.ts');
      return apiCommand(command, args, { stdin: process.stdin, stdout: process.stdout, stderr: process.stderr, env: process.env });
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
