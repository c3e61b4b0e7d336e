import type { Context } from 'aws-lambda';
import { kidForMessage } from '../crypto/key-ring.js';
import { describeForLog } from '../describe-for-log.js';
import { logger } from '../logger.js';
import { describeIssues } from '../schemas/issues.js';
import type { MaintenanceDeps } from './commands.js';
import type { MaintenanceFailure, MaintenanceReport } from './reports.js';
import { expectedFailure, maintenanceCommand, runCommand } from './run.js';

/**
 * reencrypt stops this long before the function's timeout, between batches (a batch takes well
 * under a second); the next run resumes where it stopped.
 */
export const DEADLINE_MARGIN_MS = 5_000;

/** Statement budget for maintenance: its counts scan the table, which a request never does. */
export const MAINTENANCE_STATEMENT_TIMEOUT_MS = 120_000;

/**
 * The key-maintenance Lambda: not routed by API Gateway, invoked by an operator
 * (`aws lambda invoke --payload '{"command":"verify"}'`). Returns the command's report; failures
 * that are outcomes (verify found bad rows, retire refused, the ring or database unavailable)
 * come back as `ok: false` with a reason, bugs are thrown.
 */
export function maintenanceHandler(deps: MaintenanceDeps) {
  return async (event: unknown, context?: Pick<Context, 'getRemainingTimeInMillis' | 'awsRequestId'>): Promise<MaintenanceReport | MaintenanceFailure> => {
    const parsed = maintenanceCommand.safeParse(event);
    if (!parsed.success) {
      const failure = { command: null, ok: false, error: `invalid event: ${describeIssues(parsed.error, 'event')}` } as const;
      logger.warn('key maintenance refused an event', { error: failure.error });
      return failure;
    }
    const command = parsed.data;
    logger.info('key maintenance started', { command: command.command, ...(command.command === 'retire' ? { kid: kidForMessage(command.kid) } : {}) });
    try {
      const report = await runCommand(deps, command, {
        ...(context ? { shouldStop: () => context.getRemainingTimeInMillis() < DEADLINE_MARGIN_MS, requestId: context.awsRequestId } : {}),
        onProgress: (progress) => {
          if (progress.type === 'pass-done') logger.info('reencrypt pass done', { ...progress });
        },
      });
      // Reports carry kids, counts and key_nos only.
      (report.ok ? logger.info : logger.warn).call(logger, 'key maintenance finished', { report });
      return report;
    } catch (error) {
      const failure = expectedFailure(error, command.command);
      if (!failure) {
        logger.error('key maintenance failed', { command: command.command, error: describeForLog(error) });
        throw error;
      }
      logger.error('key maintenance failed', { command: command.command, reason: failure.error });
      return failure;
    }
  };
}
