import { CommandFactory } from 'nest-commander';
import { CliModule } from './cli/cli.module';
import { CliError } from './cli/commands';
import { AppException } from './common/errors/app.exception';
import { processRole } from './common/process-role';
import { ConfigError } from './config/config.error';
import { DatabaseInUseError } from './database/sqlite-lock';

/**
 * `npm run cli -- <command>`: operators' commands, run with the service's modules and
 * configuration (the same environment and .env file) against the same database. A refusal is
 * one `error: ...` line on stderr and exit code 1.
 */
async function main(): Promise<void> {
  // Read while the modules are built, below.
  processRole.cli = true;
  await CommandFactory.run(CliModule, {
    // Failures are reported by `fail`, in one line each.
    logger: false,
    abortOnError: false,
    cliName: 'npm run cli --',
    serviceErrorHandler: fail,
  });
}

function fail(error: unknown): void {
  const expected =
    error instanceof CliError ||
    error instanceof AppException ||
    error instanceof ConfigError ||
    error instanceof DatabaseInUseError;
  const { name, message } = error instanceof Error ? error : new Error(String(error));
  const hint =
    error instanceof DatabaseInUseError
      ? '\nOn the embedded SQLite database, run commands while the service is stopped (or use the admin API).'
      : '';
  process.stderr.write(`error: ${expected ? message : `${name}: ${message}`}${hint}\n`);
  process.exitCode = 1;
}

main().catch((error: unknown) => {
  fail(error);
  process.exit(1);
});
