import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { freePort } from '../../local/free-port.js';
import { captureOutput, type OutputCapture } from '../support/output-capture.js';

/**
 * The migration function against a database that never answers (a closed port): it must fail with
 * a reason while the Lambda still runs, keeping WORK_RESERVE_MS of its time, not at the timeout.
 */
let migrate: typeof import('../../functions/migrate.js');
let output: OutputCapture;

beforeAll(async () => {
  Object.assign(process.env, {
    DATABASE_URL: `postgres://u:p@127.0.0.1:${await freePort()}/d`,
    DB_CONNECT_TIMEOUT_MS: '300',
    POWERTOOLS_LOG_LEVEL: 'DEBUG',
    DB_APP_SECRET_ARN: 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:vault-app-AbCdEf',
    DB_READER_SECRET_ARN: 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:vault-reader-AbCdEf',
    DB_ENGINE_SECRET_ARN: 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:vault-engine-AbCdEf',
  });
  migrate = await import('../../functions/migrate.js');
  output = captureOutput();
});

afterAll(() => {
  output.restore();
});

describe("the migration function's wait for the database", () => {
  it("stops waiting while the work reserve is still left of the function's time, with a clear message", async () => {
    // A function with 8 seconds to run beyond the reserve: one attempt, one 5-second pause, one more.
    const deadline = Date.now() + migrate.WORK_RESERVE_MS + 8_000;
    const context = { getRemainingTimeInMillis: () => deadline - Date.now() };
    await expect(migrate.handler({}, context)).rejects.toThrow(/database was not reachable within the time allowed: 2 attempt\(s\).*ECONNREFUSED/);
    expect(context.getRemainingTimeInMillis()).toBeGreaterThan(migrate.WORK_RESERVE_MS);
    expect(output.text()).toContain('database not reachable yet');
  }, 20_000);
});
