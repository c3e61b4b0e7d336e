import { describe, expect, it } from '@jest/globals';
import { ConfigError } from '../../shared/config.js';
import { synthesized } from './support/synth.js';

// Review finding: synthesized() claims a lock and never releases it when the synthesis throws, so every
// other caller for that configuration polls for a file that never comes (up to 180 s, past jest's 30 s
// hook timeout) instead of seeing the real error.
describe('the shared synthesis', () => {
  it('lets the next caller see a failed synthesis at once, instead of waiting for a file that never comes', async () => {
    const unusable = { stage: 'Not A Stage!' };
    await expect(synthesized(unusable)).rejects.toThrow(ConfigError);
    await expect(synthesized(unusable)).rejects.toThrow(ConfigError);
  }, 5_000);
});
