// The fake exchange lives in local/ (npm run fake-exchange starts it; nothing may import test code); tests take it from here.
export { type SecretForm, sampleCredentials } from '../../../local/fake-exchange/sample-keys.js';
export { type FakeExchange, startFakeExchange } from '../../../local/fake-exchange/server.js';
export type { Behaviour } from '../../../local/fake-exchange/venue.js';
