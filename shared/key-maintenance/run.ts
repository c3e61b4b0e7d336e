import * as z from 'zod/mini';
import { ringDocument } from '../crypto/ring-document.js';
import { OperatorError } from '../errors.js';
import { type CheckOptions, checkKeys } from './check.js';
import { type MaintenanceDeps, type ReencryptOptions, reencrypt, retire, rotate, verify } from './commands.js';
import type { MaintenanceFailure, MaintenanceReport } from './reports.js';

/** The key-maintenance function's event, and what `npm run keys --` parses its arguments into. */
export const maintenanceCommand = z.discriminatedUnion('command', [
  z.strictObject({ command: z.literal('rotate') }),
  z.strictObject({ command: z.literal('reencrypt'), batchSize: z.optional(z.number().check(z.int(), z.minimum(1), z.maximum(1000))) }),
  z.strictObject({ command: z.literal('verify') }),
  z.strictObject({ command: z.literal('retire'), kid: ringDocument.shape.primary }),
  z.strictObject({
    command: z.literal('check'),
    exchangeId: z.optional(z.number().check(z.int(), z.minimum(1), z.maximum(2_147_483_647))),
    batchSize: z.optional(z.number().check(z.int(), z.minimum(1), z.maximum(1000))),
    /** Resume after this key_no: the `next` of a run that stopped early. */
    after: z.optional(z.number().check(z.int(), z.minimum(0), z.maximum(2_147_483_647))),
  }),
]);
export type MaintenanceCommand = z.infer<typeof maintenanceCommand>;

/** What a run is told besides its command: when to stop, the request id, where to report progress. */
export type RunOptions = ReencryptOptions & Pick<CheckOptions, 'onBatch'>;

export function runCommand(deps: MaintenanceDeps, command: MaintenanceCommand, options: RunOptions = {}): Promise<MaintenanceReport> {
  switch (command.command) {
    case 'rotate':
      return rotate(deps);
    case 'reencrypt':
      return reencrypt(deps, { ...options, ...(command.batchSize === undefined ? {} : { batchSize: command.batchSize }) });
    case 'verify':
      return verify(deps);
    case 'retire':
      return retire(deps, command.kid);
    case 'check': {
      const { command: _, ...given } = command;
      return checkKeys(deps, { ...given, shouldStop: options.shouldStop, requestId: options.requestId, onBatch: options.onBatch });
    }
  }
}

/**
 * Failures that are outcomes, not bugs (OperatorError: the ring or the database cannot be had, the
 * ring is not valid, another writer changed it, it cannot be written from here, whatever the ring
 * store), as one line without key material. Anything else is a bug: undefined, for the caller to rethrow.
 */
export function expectedFailure(error: unknown, command: string | null): MaintenanceFailure | undefined {
  return error instanceof OperatorError ? { command, ok: false, error: `${error.name}: ${error.message}` } : undefined;
}
