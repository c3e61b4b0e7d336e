import type { APIGatewayProxyEventV2WithJWTAuthorizer } from 'aws-lambda';
import { unauthorized } from '../errors.js';

export const ADMIN_GROUP = 'admin';

export interface Caller {
  /** The token's `sub`: the only identity we trust; a `user_no` in a request is checked against it. */
  readonly subject: string;
  readonly isAdmin: boolean;
}

/**
 * API Gateway's HTTP API JWT authorizer flattens array claims into a string such as
 * "[admin staff]"; a locally built event may carry a real array. Accept both.
 */
export function groupsFromClaim(claim: unknown): string[] {
  if (Array.isArray(claim)) return claim.filter((group): group is string => typeof group === 'string');
  if (typeof claim !== 'string') return [];
  return claim
    .replace(/^\[|\]$/g, '')
    .split(/[\s,]+/)
    .filter((group) => group.length > 0);
}

/**
 * A subject PostgreSQL can store exactly. pg sends a lone surrogate as U+FFFD, so "x\ud800" and
 * "x\udfff" would both become the user "x\ufffd"; and text cannot hold NUL at all.
 */
const storable = (subject: string): boolean => subject.isWellFormed() && !subject.includes('\u0000');

export function callerFromEvent(event: APIGatewayProxyEventV2WithJWTAuthorizer): Caller {
  const claims = event.requestContext?.authorizer?.jwt?.claims;
  const subject = claims?.sub;
  if (typeof subject !== 'string' || subject.length === 0 || !storable(subject)) throw unauthorized();
  return { subject, isAdmin: groupsFromClaim(claims?.['cognito:groups']).includes(ADMIN_GROUP) };
}
