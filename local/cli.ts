import { type ParseArgsConfig, parseArgs } from 'node:util';

/** A mistake in how a command was called: said in one line, exit status 2. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}

type Options = NonNullable<ParseArgsConfig['options']>;

/** node:util's parseArgs with `--help`, and its errors (unknown option, missing value) as UsageErrors. */
export function parseOptions<O extends Options>(args: readonly string[], options: O) {
  try {
    return parseArgs({ args: [...args], options: { ...options, help: { type: 'boolean', short: 'h' } }, strict: true }).values;
  } catch (error) {
    throw new UsageError(error instanceof Error ? error.message.split('\n')[0] : String(error));
  }
}

/** Prints the usage when the arguments ask for it, and says so. */
export function answeredHelp(usage: string, args: readonly string[] = process.argv.slice(2)): boolean {
  if (!args.includes('--help') && !args.includes('-h')) return false;
  process.stdout.write(`${usage}\n`);
  return true;
}

const firstLine = (error: unknown): string => (error instanceof Error && error.message !== '' ? error.message.split('\n')[0]! : String(error));

/**
 * Runs a local command: `--help` prints its usage; any failure is one line on stderr (never a
 * stack trace: these commands are for people, and the line says what to change) and a non-zero
 * exit, 2 for a usage mistake, 1 otherwise.
 */
export async function runCommandLine(name: string, usage: string, main: (args: readonly string[]) => Promise<void>): Promise<void> {
  const args = process.argv.slice(2);
  if (answeredHelp(usage, args)) return;
  try {
    await main(args);
  } catch (error) {
    const usageMistake = error instanceof UsageError;
    process.stderr.write(`${name}: ${firstLine(error)}${usageMistake ? ` (${name} -- --help shows the options)` : ''}\n`);
    process.exitCode = usageMistake ? 2 : 1;
  }
}
