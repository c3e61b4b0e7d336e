import { verify } from 'node:crypto';
import { type FakeResult, hmacOf, json, sameText, type Venue } from './venue.js';

const refusal = (retCode: number, retMsg: string) => json(200, { retCode, retMsg, result: {}, retExtInfo: {}, time: Date.now() });

/** Bybit's query-api, checked as Bybit documents v5 authentication: key, millisecond timestamp within recv_window, the signature. */
export const bybit: Venue = {
  kind: 'bybit',
  handle(request, keys, now): FakeResult {
    if (request.method !== 'GET' || request.path !== '/v5/user/query-api') return json(404, { retCode: 10005, retMsg: 'Not found' });
    const h = request.headers;
    const key = keys.get(h['x-bapi-api-key'] ?? '');
    if (!key || key.behaviour.reject) return refusal(10003, 'API key is invalid.');
    if (key.behaviour.hang) return 'hang';
    const timestamp = Number(h['x-bapi-timestamp']);
    const recvWindow = Number(h['x-bapi-recv-window'] ?? 5000);
    if (!Number.isInteger(timestamp) || !(now.getTime() - recvWindow <= timestamp && timestamp < now.getTime() + 1000)) {
      return refusal(10002, 'invalid request, please check your server timestamp or recv_window param');
    }
    const payload = `${h['x-bapi-timestamp']}${key.credentials.public_key}${h['x-bapi-recv-window'] ?? ''}${request.query}`;
    const signature = h['x-bapi-sign'] ?? '';
    const holds = key.publicKey
      ? verify('sha256', Buffer.from(payload), key.publicKey, Buffer.from(signature, 'base64'))
      : sameText(hmacOf('sha256', key.credentials.private_key, payload, 'hex'), signature);
    if (!holds) return refusal(10004, 'error sign! origin_string[...]');
    const b = key.behaviour;
    const unbound = b.ipUnbound === true;
    // Bybit sets an expiry only on keys without an IP binding: 90 days.
    const expiresAt = new Date(now.getTime() + (b.expiresSoon ? 3 : 90) * 86_400_000);
    return json(200, {
      retCode: 0,
      retMsg: '',
      result: {
        id: '13770661',
        note: 'vault-fake',
        apiKey: key.credentials.public_key,
        readOnly: 0,
        secret: '',
        permissions: {
          ContractTrade: [],
          Spot: ['SpotTrade'],
          Wallet: [...(b.transfer ? ['AccountTransfer', 'SubMemberTransfer'] : []), ...(b.withdraw ? ['Withdraw'] : [])],
          Options: [],
          Derivatives: [],
          CopyTrading: [],
          BlockTrade: [],
          Exchange: [],
          NFT: [],
          Affiliate: [],
        },
        ips: unbound ? ['*'] : ['203.0.113.7'],
        type: 1,
        deadlineDay: unbound || b.expiresSoon ? (b.expiresSoon ? 3 : 90) : -1,
        expiredAt: unbound || b.expiresSoon ? expiresAt.toISOString().replace(/\.\d{3}Z$/, 'Z') : '',
        createdAt: new Date(now.getTime() - 86_400_000).toISOString().replace(/\.\d{3}Z$/, 'Z'),
        unified: 0,
        uta: 1,
        userID: 24617703,
        inviterID: 0,
        vipLevel: 'No VIP',
        mktMakerLevel: '0',
        affiliateID: 0,
        rsaPublicKey: '',
        isMaster: true,
        parentUid: '0',
        kycLevel: 'LEVEL_DEFAULT',
        kycRegion: '',
      },
      retExtInfo: {},
      time: now.getTime(),
    });
  },
};
