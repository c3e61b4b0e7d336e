import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { ADAPTERS } from '../../../shared/exchanges/adapters/index.js';
import { type CheckDecision, decide } from '../../../shared/exchanges/decision.js';
import { FORBIDDEN_PERMISSIONS, type KeyFacts, PERMISSIONS, type Permission, type ProbeOutcome } from '../../../shared/exchanges/facts.js';
import type { AdaptedKind } from '../../../shared/exchanges/kinds.js';
import { sampleCredentials } from '../../support/fake-exchange/index.js';

const policy = fc.record({ requireIpRestriction: fc.boolean() });
const keyFacts: fc.Arbitrary<KeyFacts> = fc.record({
  permissions: fc.option(fc.subarray([...PERMISSIONS])),
  ip_restricted: fc.option(fc.boolean()),
  expires_at: fc.option(fc.date({ noInvalidDate: true }).map((d) => d.toISOString())),
});

/** The rule, said once more in the plainest terms, for the properties to hold the function to. */
function expectedDecision(facts: KeyFacts, requireIpRestriction: boolean): CheckDecision['status'] | 'forbidden' | 'ip' {
  if (facts.permissions?.some((p) => p === 'withdraw' || p === 'transfer')) return 'forbidden';
  if (requireIpRestriction && facts.ip_restricted !== true) return 'ip';
  return 'passed';
}
const shapeOf = (decision: CheckDecision) =>
  decision.status === 'failed' && decision.reason === 'forbidden_permission'
    ? 'forbidden'
    : decision.status === 'failed' && (decision.reason === 'ip_not_restricted' || decision.reason === 'ip_restriction_unknown')
      ? 'ip'
      : decision.status;

describe('decide', () => {
  it('any reported facts: withdraw or transfer fail and are named; then IP binding per policy; else passed and flagged when not bound', () => {
    fc.assert(
      fc.property(keyFacts, policy, (facts, p) => {
        const decision = decide({ outcome: 'facts', facts }, p);
        expect(shapeOf(decision)).toBe(expectedDecision(facts, p.requireIpRestriction));
        if (decision.status === 'failed' && decision.reason === 'forbidden_permission') {
          expect(decision.permissions).toEqual(FORBIDDEN_PERMISSIONS.filter((x) => facts.permissions?.includes(x)));
        }
        if (decision.status === 'passed') expect(decision.ip_unrestricted).toBe(facts.ip_restricted !== true);
      }),
    );
  });

  it('withdraw and transfer fail whatever the policy: no setting turns the refusal off', () => {
    fc.assert(
      fc.property(fc.subarray([...PERMISSIONS], { minLength: 0 }), fc.constantFrom<Permission>('withdraw', 'transfer'), policy, (others, forbidden, p) => {
        const decision = decide({ outcome: 'facts', facts: { permissions: [...others, forbidden], ip_restricted: true, expires_at: null } }, p);
        expect(decision).toMatchObject({ status: 'failed', reason: 'forbidden_permission' });
      }),
    );
  });

  it('says which IP answer failed a deployment that requires binding: not bound, or not reported', () => {
    const facts = (ip_restricted: boolean | null): ProbeOutcome => ({ outcome: 'facts', facts: { permissions: ['read'], ip_restricted, expires_at: null } });
    expect(decide(facts(false), { requireIpRestriction: true })).toMatchObject({ status: 'failed', reason: 'ip_not_restricted' });
    expect(decide(facts(null), { requireIpRestriction: true })).toMatchObject({ status: 'failed', reason: 'ip_restriction_unknown' });
    expect(decide(facts(true), { requireIpRestriction: true })).toMatchObject({ status: 'passed', ip_unrestricted: false });
    expect(decide(facts(null), { requireIpRestriction: false })).toMatchObject({ status: 'passed', ip_unrestricted: true });
  });

  it('a rejection fails with the exchange code; no answer is unreachable; malformed credentials fail by field', () => {
    expect(decide({ outcome: 'rejected', code: '-2015' }, { requireIpRestriction: false })).toEqual({
      status: 'failed',
      reason: 'rejected',
      exchange_code: '-2015',
    });
    expect(decide({ outcome: 'unreachable', reason: 'timeout' }, { requireIpRestriction: true })).toEqual({ status: 'unreachable', reason: 'timeout' });
    expect(decide({ outcome: 'malformed', issues: [{ field: 'passphrase', message: 'x' }] }, { requireIpRestriction: false })).toEqual({
      status: 'failed',
      reason: 'malformed',
      fields: ['passphrase'],
    });
  });
});

/**
 * Each exchange's answer, over every permission combination it can report, read by its adapter
 * and decided: refused exactly when the exchange granted a right that moves funds away.
 */
describe('any permission set an exchange can report maps to the right decision', () => {
  const decideAnswer = (kind: AdaptedKind, body: unknown, requireIpRestriction = false) => {
    const credentials = sampleCredentials(kind);
    return decide(ADAPTERS[kind].read({ status: 200, body }, credentials), { requireIpRestriction });
  };
  const refused = (decision: CheckDecision): boolean => decision.status === 'failed' && decision.reason === 'forbidden_permission';

  it('Binance: withdrawals, internal or universal transfer refuse; nothing else does', () => {
    const flags = ['enableReading', 'enableSpotAndMarginTrading', 'enableMargin', 'enableFutures', 'enablePortfolioMarginTrading', 'enableVanillaOptions'];
    fc.assert(
      fc.property(
        fc.record(Object.fromEntries(flags.map((f) => [f, fc.boolean()]))),
        fc.record({ enableWithdrawals: fc.boolean(), enableInternalTransfer: fc.boolean(), permitsUniversalTransfer: fc.boolean(), ipRestrict: fc.boolean() }),
        (rights, risky) => {
          const decision = decideAnswer('binance', { ...rights, ...risky, createTime: 1 });
          expect(refused(decision)).toBe(risky.enableWithdrawals || risky.enableInternalTransfer || risky.permitsUniversalTransfer);
        },
      ),
    );
  });

  it('OKX: withdraw refuses; read_only and trade do not', () => {
    fc.assert(
      fc.property(fc.subarray(['read_only', 'trade', 'withdraw']), fc.boolean(), (perm, bound) => {
        const decision = decideAnswer('okx', { code: '0', msg: '', data: [{ perm: perm.join(','), ip: bound ? '203.0.113.7' : '' }] });
        expect(refused(decision)).toBe(perm.includes('withdraw'));
      }),
    );
  });

  it('Bybit: any wallet transfer or withdrawal refuses, read-only or not', () => {
    const wallet = ['AccountTransfer', 'SubMemberTransfer', 'SubMemberTransferList', 'Withdraw'];
    fc.assert(
      fc.property(fc.subarray(wallet), fc.subarray(['SpotTrade']), fc.subarray(['Order', 'Position']), fc.constantFrom(0, 1), (w, spot, contract, readOnly) => {
        const body = {
          retCode: 0,
          retMsg: '',
          result: { readOnly, permissions: { Wallet: w, Spot: spot, ContractTrade: contract }, ips: ['*'], expiredAt: '' },
        };
        expect(refused(decideAnswer('bybit', body))).toBe(w.length > 0);
      }),
    );
  });

  it('Coinbase: can_transfer refuses', () => {
    fc.assert(
      fc.property(fc.boolean(), fc.boolean(), fc.boolean(), (can_view, can_trade, can_transfer) => {
        expect(refused(decideAnswer('coinbase', { can_view, can_trade, can_transfer, portfolio_uuid: 'p', portfolio_type: 'DEFAULT' }))).toBe(can_transfer);
      }),
    );
  });

  it('Kraken: withdraw-funds (and any right named for withdrawing or transferring) refuses', () => {
    const names = [
      'query-funds',
      'deposit-funds',
      'earn-funds',
      'query-open-trades',
      'query-closed-trades',
      'modify-trades',
      'cancel-close-trades',
      'query-ledger',
      'export-data',
      'withdraw-funds',
      'transfer-funds',
    ];
    fc.assert(
      fc.property(fc.subarray(names), (permissions) => {
        const body = { error: [], result: { permissions, ipAllowlist: [], validUntil: '0' } };
        expect(refused(decideAnswer('kraken', body))).toBe(permissions.includes('withdraw-funds') || permissions.includes('transfer-funds'));
      }),
    );
  });

  it('Upbit and Coinone report no permissions: authentication alone passes, flagged by what binding they report', () => {
    const upbit = sampleCredentials('upbit');
    const upbitFacts = ADAPTERS.upbit.read({ status: 200, body: [{ access_key: upbit.public_key, expire_at: '2027-12-01T00:00:00+09:00' }] }, upbit);
    expect(upbitFacts).toEqual({ outcome: 'facts', facts: { permissions: null, ip_restricted: true, expires_at: '2027-11-30T15:00:00.000Z' } });
    expect(decide(upbitFacts, { requireIpRestriction: true })).toMatchObject({ status: 'passed', ip_unrestricted: false });
    expect(decideAnswer('coinone', { result: 'success', error_code: '0' })).toMatchObject({ status: 'passed', ip_unrestricted: true });
  });
});
