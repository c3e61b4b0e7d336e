/**
 * What a failed AWS SDK call says, for an error message or a log line: the error's name and the
 * start of its message. AWS messages name resources and principals, never secret values.
 */
export function describeAwsFailure(what: string, error: unknown): string {
  const name = error instanceof Error ? error.name : typeof error;
  const message = error instanceof Error && error.message !== '' ? `: ${error.message.slice(0, 300)}` : '';
  return `${what} failed: ${name}${message}`;
}
