import type { KeyOwner } from '../db/key-opens.js';

/** The invocation, as the history records it: actor_id is the function's name, request_id Lambda's. */
export interface Invocation {
  readonly functionName: string;
  readonly awsRequestId: string;
}

/** Whose key an engine event names; its schema has already checked that it names exactly one of the two. */
export function ownerOf(key: { readonly subject?: string; readonly user_no?: number }): KeyOwner {
  if (key.user_no !== undefined) return { userNo: key.user_no };
  if (key.subject !== undefined) return { subject: key.subject };
  throw new Error('an engine event names neither subject nor user_no');
}
