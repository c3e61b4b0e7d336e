import type { ValidationIssue } from './schemas/errors.js';

/**
 * An expected failure carried as a value with its HTTP status. Services throw these; the one
 * error responder turns them into `{"detail": ...}` responses. `detail` is safe to show a caller.
 */
export class AppError extends Error {
  constructor(
    readonly status: number,
    readonly detail: string | readonly ValidationIssue[],
    readonly headers: Readonly<Record<string, string>> = {},
  ) {
    super(typeof detail === 'string' ? detail : `${detail.length} validation issue(s)`);
    this.name = 'AppError';
  }
}

export const RETRY_AFTER_SECONDS = 5;

export const unauthorized = (detail = 'Not authenticated') => new AppError(401, detail, { 'www-authenticate': 'Bearer' });
export const forbidden = (detail: string) => new AppError(403, detail);
export const notFound = (detail: string) => new AppError(404, detail);
export const conflict = (detail: string) => new AppError(409, detail);
export const unprocessable = (issues: readonly ValidationIssue[]) => new AppError(422, issues);
export const serviceUnavailable = (detail: string) => new AppError(503, detail, { 'retry-after': String(RETRY_AFTER_SECONDS) });
