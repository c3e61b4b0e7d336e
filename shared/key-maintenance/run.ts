import * as z from 'zod';
import { KeyRingError } from '../crypto/key-ring.js';
import { ringDocument } from '../crypto/ring-document.js';
import { RingChanged, RingReadOnly } from '../crypto/ring-store.js';
import { KeyRingServiceError } from '../crypto/secrets-ring-store.js';
import { AppError } from '../errors.js';
import { type MaintenanceDeps, type ReencryptOptions, reencrypt, retire, rotate, verify } from './commands.js';
import type { MaintenanceFailure, MaintenanceReport } from './reports.js';

/** The key-maintenance function's event, and what `npm run keys --` parses its arguments into. */
export const maintenanceCommand = z.discriminatedUnion('command', [
  z.strictObject({ command: z.literal('rotate') }),
  z.strictObject({ command: z.literal('reencrypt'), batchSize: z.number().int().min(1).max(1000).optional() }),
  z.strictObject({ command: z.literal('verify') }),
  z.strictObject({ command: z.literal('retire'), kid: ringDocument.shape.primary }),
]);
export type MaintenanceCommand = z.infer<typeof maintenanceCommand>;

export function runCommand(deps: MaintenanceDeps, command: MaintenanceCommand, options: ReencryptOptions = {}): Promise<MaintenanceReport> {
  switch (command.command) {
    case 'rotate':
      return rotate(deps);
    case 'reencrypt':
      return reencrypt(deps, { ...options, ...(command.batchSize === undefined ? {} : { batchSize: command.batchSize }) });
    case 'verify':
      return verify(deps);
    case 'retire':
      return retire(deps, command.kid);
  }
}

/**
 * Failures that are outcomes, not bugs: the ring or the database cannot be had, the ring is not
 * valid, another writer changed it, or it cannot be written from here. Their messages carry no
 * key material (each class promises that). Anything else is a bug and is rethrown.
 */
export function expectedFailure(error: unknown, command: string | null): MaintenanceFailure | undefined {
  if (error instanceof AppError) {
    const reason = (error as { reason?: unknown }).reason;
    return { command, ok: false, error: typeof reason === 'string' ? `${error.message} (${reason})` : error.message };
  }
  if (error instanceof KeyRingError || error instanceof KeyRingServiceError || error instanceof RingChanged || error instanceof RingReadOnly) {
    return { command, ok: false, error: `${error.name}: ${error.message}` };
  }
  return undefined;
}

/** Zod's issues for an event, by path and message only (an event's values are not repeated). */
export const describeCommandIssues = (error: z.ZodError): string =>
  error.issues.map((issue) => `${issue.path.join('.') || 'event'}: ${issue.code === 'unrecognized_keys' ? 'unrecognized field' : issue.message}`).join('; ');
