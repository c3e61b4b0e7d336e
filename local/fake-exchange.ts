import { ADAPTED_KINDS } from '../shared/exchanges/kinds.js';
import { answeredHelp } from './cli.js';
import { sampleCredentials } from './fake-exchange/sample-keys.js';
import { startFakeExchange } from './fake-exchange/server.js';
import type { Behaviour } from './fake-exchange/venue.js';

const USAGE = `usage: npm run fake-exchange

Serves a fake of every exchange the vault checks keys at (binance, okx, bybit, coinbase, kraken,
upbit, coinone) on http://127.0.0.1:$FAKE_EXCHANGE_PORT/<kind>, verifying signatures as each exchange
does. Prints the EXCHANGE_API_URLS to give the vault, and for each kind a key per behaviour:
ok, withdraw, transfer, ip-unbound, expires-soon, reject, hang. Ctrl-C stops it.
  FAKE_EXCHANGE_PORT  its port (default 3100)`;
if (answeredHelp(USAGE)) process.exit(0);

const BEHAVIOURS: Readonly<Record<string, Behaviour>> = {
  ok: {},
  withdraw: { withdraw: true },
  transfer: { transfer: true },
  'ip-unbound': { ipUnbound: true },
  'expires-soon': { expiresSoon: true },
  reject: { reject: true },
  hang: { hang: true },
};

const fake = await startFakeExchange({ port: Number(process.env.FAKE_EXCHANGE_PORT ?? 3100) });
const keys = Object.fromEntries(
  ADAPTED_KINDS.map((kind) => [
    kind,
    Object.fromEntries(
      Object.entries(BEHAVIOURS).map(([name, behaviour]) => {
        const credentials = sampleCredentials(kind);
        fake.addKey(kind, credentials, behaviour);
        return [name, credentials];
      }),
    ),
  ]),
);
process.stdout.write(`${JSON.stringify({ EXCHANGE_API_URLS: JSON.stringify(fake.baseUrls), keys }, null, 2)}\n`);
process.stderr.write('fake exchange: serving; Ctrl-C stops it\n');
process.once('SIGINT', () => void fake.close().then(() => process.exit(0)));
