import type { APIGatewayProxyEventV2WithJWTAuthorizer } from 'aws-lambda';
import { unauthorized } from '../errors.js';
import { storableSubject } from '../schemas/text.js';
import type { Caller } from '../services/caller.js';

/** The group whose members may create exchanges: the handlers read it from `cognito:groups`, the Cognito user pool names its group so. */
export const ADMIN_GROUP = 'admin';

/**
 * The token's group names, compared whole: a group is admin only if its name is exactly "admin"
 * (never "not admin" or "team,admin"). A locally built event carries the real array, taken as it
 * is. API Gateway's HTTP API JWT authorizer flattens it into "[admin staff]": split on whitespace
 * only, which Cognito group names cannot hold; a comma is part of a name.
 */
export function groupsFromClaim(claim: unknown): string[] {
  if (Array.isArray(claim)) return claim.filter((group): group is string => typeof group === 'string');
  if (typeof claim !== 'string') return [];
  const flattened = /^\[(.*)\]$/s.exec(claim)?.[1] ?? claim;
  return flattened.split(/\s+/).filter((group) => group.length > 0);
}

export function callerFromEvent(event: APIGatewayProxyEventV2WithJWTAuthorizer): Caller {
  const claims = event.requestContext?.authorizer?.jwt?.claims;
  const subject = claims?.sub;
  if (typeof subject !== 'string' || !storableSubject(subject)) throw unauthorized();
  return { subject, isAdmin: groupsFromClaim(claims?.['cognito:groups']).includes(ADMIN_GROUP) };
}
