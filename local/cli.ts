import { pathToFileURL } from 'node:url';
import { type ParseArgsConfig, parseArgs, types } from 'node:util';

/**
 * Where a command reads its settings and writes its output: the process's own, or a test's. Not
 * VAULT_DATA_DIR: local/dev-keys.ts reads that from process.env once, as it loads.
 */
export interface CommandIo {
  readonly env: NodeJS.ProcessEnv;
  readonly stdout: { write(text: string): unknown };
  readonly stderr: { write(text: string): unknown };
}

/** True in the module the process was started with (`tsx local/<command>.ts`), false where a test imports it. */
export const isEntry = (moduleUrl: string): boolean => process.argv[1] !== undefined && moduleUrl === pathToFileURL(process.argv[1]).href;

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
    // isNativeError, not instanceof: node:util's errors belong to another realm where a test runs this in a vm context.
    throw new UsageError(types.isNativeError(error) ? error.message.split('\n')[0] : String(error));
  }
}

/** Prints the usage when the arguments ask for it, and says so. */
export function answeredHelp(usage: string, args: readonly string[] = process.argv.slice(2), stdout: CommandIo['stdout'] = process.stdout): boolean {
  if (!args.includes('--help') && !args.includes('-h')) return false;
  stdout.write(`${usage}\n`);
  return true;
}

const firstLine = (error: unknown): string => (error instanceof Error && error.message !== '' ? error.message.split('\n')[0]! : String(error));

/** A local command: its name as people type it, its usage, and what it does. */
export interface LocalCommand {
  readonly name: string;
  readonly usage: string;
  run(args: readonly string[], io: CommandIo): Promise<void>;
}

/**
 * Runs a local command and returns its exit status: `--help` prints its usage; any failure is one
 * line on stderr (never a stack trace: these commands are for people, and the line says what to
 * change) and a non-zero status, 2 for a usage mistake, 1 otherwise.
 */
export async function runLocalCommand(command: LocalCommand, args: readonly string[], io: CommandIo): Promise<number> {
  if (answeredHelp(command.usage, args, io.stdout)) return 0;
  try {
    await command.run(args, io);
    return 0;
  } catch (error) {
    const usageMistake = error instanceof UsageError;
    io.stderr.write(`${command.name}: ${firstLine(error)}${usageMistake ? ` (${command.name} -- --help shows the options)` : ''}\n`);
    return usageMistake ? 2 : 1;
  }
}

/** Runs the command with the process's arguments and streams when its module is the process's entry. */
export async function runCommandLine(command: LocalCommand, moduleUrl: string): Promise<void> {
  if (isEntry(moduleUrl)) process.exitCode = await runLocalCommand(command, process.argv.slice(2), process);
}
