import { verify } from 'node:crypto';
import { type FakeKey, type FakeRequest, type FakeResult, hmacOf, json, sameText, type Venue } from './venue.js';

const INVALID_KEY = json(401, { code: -2015, msg: 'Invalid API-key, IP, or permissions for action.' });
const BAD_SIGNATURE = json(400, { code: -1022, msg: 'Signature for this request is not valid.' });

function signatureHolds(key: FakeKey, payload: string, signature: string): boolean {
  if (!key.publicKey) return sameText(hmacOf('sha256', key.credentials.private_key, payload, 'hex'), signature);
  const raw = Buffer.from(signature, 'base64');
  return key.publicKey.asymmetricKeyType === 'ed25519'
    ? verify(null, Buffer.from(payload), key.publicKey, raw)
    : verify('sha256', Buffer.from(payload), key.publicKey, raw);
}

/** Binance's apiRestrictions, checked as Binance documents SIGNED endpoints: the key header, the window, the signature last in the query. */
export const binance: Venue = {
  kind: 'binance',
  handle(request: FakeRequest, keys, now): FakeResult {
    if (request.method !== 'GET' || request.path !== '/sapi/v1/account/apiRestrictions') return json(404, { code: -1000, msg: 'Unknown path' });
    const key = keys.get(request.headers['x-mbx-apikey'] ?? '');
    if (!key || key.behaviour.reject) return INVALID_KEY;
    if (key.behaviour.hang) return 'hang';
    const at = request.query.lastIndexOf('&signature=');
    if (at < 0) return json(400, { code: -1102, msg: "Mandatory parameter 'signature' was not sent, was empty/null, or malformed." });
    const payload = request.query.slice(0, at);
    const params = new URLSearchParams(payload);
    const timestamp = Number(params.get('timestamp'));
    const recvWindow = Number(params.get('recvWindow') ?? 5000);
    if (!Number.isInteger(timestamp) || recvWindow > 60_000) return json(400, { code: -1102, msg: 'Mandatory parameter was malformed.' });
    if (timestamp >= now.getTime() + 1000 || now.getTime() - timestamp > recvWindow) {
      return json(400, { code: -1021, msg: 'Timestamp for this request is outside of the recvWindow.' });
    }
    if (!signatureHolds(key, payload, decodeURIComponent(request.query.slice(at + '&signature='.length)))) return BAD_SIGNATURE;
    const b = key.behaviour;
    return json(200, {
      ipRestrict: !b.ipUnbound,
      createTime: now.getTime() - 86_400_000,
      enableReading: true,
      enableSpotAndMarginTrading: true,
      enableMargin: false,
      enableFutures: false,
      enablePortfolioMarginTrading: false,
      enableVanillaOptions: false,
      enableWithdrawals: b.withdraw === true,
      enableInternalTransfer: b.transfer === true,
      permitsUniversalTransfer: b.transfer === true,
      enableFixApiTrade: false,
      enableFixReadOnly: false,
      ...(b.expiresSoon ? { tradingAuthorityExpirationTime: now.getTime() + 3 * 86_400_000 } : {}),
    });
  },
};
