import { type FakeResult, hmacOf, json, sameText, type Venue } from './venue.js';

const WINDOW_MS = 30_000;
const refusal = (code: string, msg: string) => json(401, { code, msg, data: [] });

/** OKX's account config, checked as OKX documents REST authentication: key, passphrase, a 30-second timestamp, the signature. */
export const okx: Venue = {
  kind: 'okx',
  handle(request, keys, now): FakeResult {
    if (request.method !== 'GET' || request.path !== '/api/v5/account/config') return json(404, { code: '50000', msg: 'Not found', data: [] });
    const h = request.headers;
    const key = keys.get(h['ok-access-key'] ?? '');
    if (!key || key.behaviour.reject) return refusal('50111', 'Invalid OK-ACCESS-KEY');
    if (key.behaviour.hang) return 'hang';
    const timestamp = h['ok-access-timestamp'] ?? '';
    const at = Date.parse(timestamp);
    if (!/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/.test(timestamp) || Number.isNaN(at)) return refusal('50112', 'Invalid OK-ACCESS-TIMESTAMP');
    if (Math.abs(now.getTime() - at) > WINDOW_MS) return refusal('50102', 'Timestamp request expired');
    if (!sameText(h['ok-access-passphrase'] ?? '', key.credentials.passphrase ?? '')) return refusal('50105', 'Invalid OK-ACCESS-PASSPHRASE');
    const expected = hmacOf(
      'sha256',
      key.credentials.private_key,
      `${timestamp}${request.method}${request.path}${request.query ? `?${request.query}` : ''}${request.body}`,
      'base64',
    );
    if (!sameText(h['ok-access-sign'] ?? '', expected)) return refusal('50113', 'Invalid Sign');
    const b = key.behaviour;
    return json(200, {
      code: '0',
      msg: '',
      data: [
        {
          uid: '44705892343619584',
          acctLv: '2',
          posMode: 'net_mode',
          label: 'vault-fake',
          perm: ['read_only', 'trade', ...(b.withdraw ? ['withdraw'] : [])].join(','),
          ip: b.ipUnbound ? '' : '203.0.113.7,203.0.113.8',
          level: 'Lv1',
        },
      ],
    });
  },
};
