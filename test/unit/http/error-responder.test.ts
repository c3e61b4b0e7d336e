import { describe, expect, it } from '@jest/globals';
import pg from 'pg';
import { describeForLog } from '../../../shared/describe-for-log.js';
import { AppError, conflict } from '../../../shared/errors.js';
import { errorResult } from '../../../shared/http/error-responder.js';

describe('errorResult', () => {
  it('keeps an expected error status, detail and headers', () => {
    const result = errorResult(new AppError(503, 'down', { 'retry-after': '5' }));
    expect(result.statusCode).toBe(503);
    expect(result.headers).toMatchObject({ 'retry-after': '5', 'cache-control': 'no-store' });
    expect(JSON.parse(result.body!)).toEqual({ detail: 'down' });
    expect(JSON.parse(errorResult(conflict('taken')).body!)).toEqual({ detail: 'taken' });
  });

  it('answers a bug with a bare 500 that says nothing of it', () => {
    const result = errorResult(new TypeError('secret-ish input "sk_live_123"'));
    expect(result.statusCode).toBe(500);
    expect(result.body).toBe(JSON.stringify({ detail: 'Internal server error' }));
  });
});

describe('describeForLog', () => {
  it('leaves out messages, which may quote input', () => {
    let parseError: unknown;
    try {
      JSON.parse('{"private_key": "sk_live_123"');
    } catch (error) {
      parseError = error;
    }
    expect(JSON.stringify(describeForLog(parseError))).not.toContain('sk_live_123');
  });

  it('keeps only the code and names of a database error, never its DETAIL', () => {
    const error = new pg.DatabaseError('duplicate key value', 0, 'error');
    Object.assign(error, { code: '23505', constraint: 'uq_user_exchange', detail: 'Key (user_no)=(7) already exists.' });
    expect(describeForLog(error)).toMatchObject({ code: '23505', constraint: 'uq_user_exchange' });
    expect(JSON.stringify(describeForLog(error))).not.toContain('already exists');
  });
});
