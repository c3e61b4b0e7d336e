import { describe, expect, it } from '@jest/globals';
import { ConfigError } from '../../../shared/config.js';
import { exchangeApiUrls, exchangeChecks, requireIpRestriction } from '../../../shared/exchanges/settings.js';

describe('EXCHANGE_API_URLS', () => {
  it('is {} when unset or blank, and maps known kinds to base URLs', () => {
    expect(exchangeApiUrls({})).toEqual({});
    expect(exchangeApiUrls({ EXCHANGE_API_URLS: '  ' })).toEqual({});
    const urls = { binance: 'http://127.0.0.1:3100/binance', coinbase: 'https://sandbox.example.com' };
    expect(exchangeApiUrls({ EXCHANGE_API_URLS: JSON.stringify(urls) })).toEqual(urls);
  });

  it.each([
    ['not JSON', '{binance:', /must be JSON/],
    ['a list', '["http://x"]', /known kinds/],
    ['an unknown kind', '{"mtgox": "http://x"}', /known kinds/],
    ['a kind without an adapter', '{"kucoin": "http://x"}', /known kinds/],
    ['a URL that is not one', '{"okx": "127.0.0.1:3100"}', /okx: must be an http\(s\) URL/],
    ['another scheme', '{"okx": "ftp://127.0.0.1"}', /okx: must be an http\(s\) URL/],
    ['a query', '{"okx": "http://127.0.0.1/?a=1"}', /okx: must have no query/],
    ['a number', '{"okx": 3100}', /okx/],
  ])('fails fast with a ConfigError on %s', (_, value, message) => {
    expect(() => exchangeApiUrls({ EXCHANGE_API_URLS: value })).toThrow(ConfigError);
    expect(() => exchangeApiUrls({ EXCHANGE_API_URLS: value })).toThrow(message);
  });
});

describe.each([
  ['EXCHANGE_CHECKS', exchangeChecks],
  ['REQUIRE_IP_RESTRICTION', requireIpRestriction],
] as const)('%s', (name, read) => {
  it('is off unless "on"', () => {
    expect(read({})).toBe(false);
    expect(read({ [name]: 'off' })).toBe(false);
    expect(read({ [name]: ' on ' })).toBe(true);
  });

  it.each(['yes', 'true', '1', 'ON'])('refuses %s with a ConfigError naming the setting', (value) => {
    expect(() => read({ [name]: value })).toThrow(new ConfigError(`${name} must be "on" or "off"`));
  });
});
