// The fake exchange lives in local/ (npm run fake-exchange starts it; nothing may import test code); tests take it from here.
import { sampleCredentials } from '../../../local/fake-exchange/sample-keys.js';
import type { FakeExchange } from '../../../local/fake-exchange/server.js';
import type { Behaviour } from '../../../local/fake-exchange/venue.js';
import type { Credentials } from '../../../shared/exchanges/facts.js';
import type { AdaptedKind } from '../../../shared/exchanges/kinds.js';

export { type SecretForm, sampleCredentials } from '../../../local/fake-exchange/sample-keys.js';
export { type FakeExchange, startFakeExchange } from '../../../local/fake-exchange/server.js';
export type { Behaviour } from '../../../local/fake-exchange/venue.js';

/** The settings that turn checks on against `fake`, as the functions read them. */
export const checksOn = (fake: FakeExchange) => ({ EXCHANGE_CHECKS: 'on', EXCHANGE_API_URLS: JSON.stringify(fake.baseUrls) });

/** Fresh credentials of `kind` that `fake` knows, behaving as told. */
export function knownKey(fake: FakeExchange, kind: AdaptedKind, behaviour: Behaviour = {}): Credentials {
  const credentials = sampleCredentials(kind);
  fake.addKey(kind, credentials, behaviour);
  return credentials;
}
