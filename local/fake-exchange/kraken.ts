import { createHash } from 'node:crypto';
import { expiry, type FakeResult, hmacOf, json, sameText, type Venue } from './venue.js';

const PATH = '/0/private/GetApiKeyInfo';
const refusal = (error: string) => json(200, { error: [error] });

/** Kraken's GetApiKeyInfo, checked as Kraken documents REST authentication: API-Key, API-Sign over path and SHA-256(nonce + body), nonces that only increase. */
export const kraken: Venue = {
  kind: 'kraken',
  handle(request, keys, now): FakeResult {
    if (request.method !== 'POST' || request.path !== PATH) return refusal('EGeneral:Unknown method');
    const key = keys.get(request.headers['api-key'] ?? '');
    if (!key || key.behaviour.reject) return refusal('EAPI:Invalid key');
    if (key.behaviour.hang) return 'hang';
    const form = new URLSearchParams(request.body);
    const nonceText = form.get('nonce') ?? '';
    if (!/^\d{1,20}$/.test(nonceText)) return refusal('EAPI:Invalid nonce');
    const digest = createHash('sha256')
      .update(nonceText + request.body)
      .digest();
    const expected = hmacOf('sha512', Buffer.from(key.credentials.private_key, 'base64'), Buffer.concat([Buffer.from(PATH), digest]), 'base64');
    if (!sameText(request.headers['api-sign'] ?? '', expected)) return refusal('EAPI:Invalid signature');
    const nonce = BigInt(nonceText);
    if (nonce <= key.lastNonce) return refusal('EAPI:Invalid nonce');
    key.lastNonce = nonce;
    const b = key.behaviour;
    const seconds = (date: Date) => String(Math.floor(date.getTime() / 1000));
    return json(200, {
      error: [],
      result: {
        apiKeyName: 'vault-fake',
        apiKey: key.credentials.public_key,
        nonce: nonceText,
        nonceWindow: 0,
        permissions: [
          'query-funds',
          'query-open-trades',
          'query-closed-trades',
          'modify-trades',
          'cancel-close-trades',
          ...(b.withdraw ? ['withdraw-funds'] : []),
        ],
        iban: 'AA88 N84G WOAK NMOI',
        validUntil: b.expiresSoon ? seconds(expiry(now, b)) : '0',
        queryFrom: '0',
        queryTo: '0',
        createdTime: seconds(new Date(now.getTime() - 86_400_000)),
        modifiedTime: seconds(new Date(now.getTime() - 86_400_000)),
        ipAllowlist: b.ipUnbound ? [] : ['203.0.113.7/32'],
        lastUsed: seconds(now),
      },
    });
  },
};
