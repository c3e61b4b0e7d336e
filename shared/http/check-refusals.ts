import type { KeyCheckFailed } from '../errors.js';
import { EXCHANGE_NAMES } from '../exchanges/kinds.js';
import type { ValidationIssue } from '../schemas/errors.js';

const NOTHING_STORED = 'Nothing was stored.';

/**
 * A failed check as the 422 tells the owner: what the exchange said (its own code, never the key)
 * and what to change there. One issue at `["body"]`: the key as a whole, not one of its fields,
 * except for credentials the exchange's signing could not use.
 */
export function checkFailureIssues({ kind, decision }: KeyCheckFailed): ValidationIssue[] {
  const exchange = EXCHANGE_NAMES[kind];
  switch (decision.reason) {
    case 'rejected':
      return [
        {
          loc: ['body'],
          msg: `${exchange} rejected the key (its error code ${decision.exchange_code}): check that it is copied whole, not deleted or expired, and that its IP allow-list admits the vault's addresses. ${NOTHING_STORED}`,
          type: 'exchange_rejected',
        },
      ];
    case 'forbidden_permission':
      return [
        {
          loc: ['body'],
          msg: `The key may ${decision.permissions.join(' and ')} at ${exchange}: turn ${decision.permissions.map((p) => (p === 'withdraw' ? 'withdrawals' : 'transfers')).join(' and ')} off for this key at the exchange (a key here may only read and trade). ${NOTHING_STORED}`,
          type: 'forbidden_permission',
        },
      ];
    case 'ip_not_restricted':
      return [
        {
          loc: ['body'],
          msg: `The key is not bound to IP addresses at ${exchange}, and this vault requires it: allow-list your trading addresses and the vault's for this key at the exchange. ${NOTHING_STORED}`,
          type: 'ip_not_restricted',
        },
      ];
    case 'ip_restriction_unknown':
      return [
        {
          loc: ['body'],
          msg: `${exchange} does not say whether a key is bound to IP addresses, and this vault requires it: such keys cannot be stored here. ${NOTHING_STORED}`,
          type: 'ip_restriction_unknown',
        },
      ];
    case 'malformed':
      return decision.fields.map((field) => ({
        loc: ['body', field],
        msg: `${exchange} could not be asked with this ${field}: it is not what ${exchange}'s keys look like. ${NOTHING_STORED}`,
        type: 'credential_shape',
      }));
  }
}
