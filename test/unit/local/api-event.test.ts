import type { IncomingMessage } from 'node:http';
import { describe, expect, it } from '@jest/globals';
import { toApiEvent } from '../../../local/api-event.js';
import { routes } from '../../../shared/routes.js';

const request = { headers: { 'content-type': 'application/json' }, httpVersion: '1.1', socket: { remoteAddress: '127.0.0.1' } } as unknown as IncomingMessage;
const route = routes.find((candidate) => candidate.name === 'register-api-key')!;
const eventFor = (body: Buffer) => toApiEvent(request, new URL('http://localhost/api/settings/exchange-api-key'), route, {}, { sub: 'a' }, body);

describe('the local server hands the body on as API Gateway does', () => {
  it('keeps a leading byte-order mark in a text body, so the handler sees (and refuses) what it would see in AWS', () => {
    const event = eventFor(Buffer.from('\uFEFF{"exchange_id": 101}', 'utf8'));
    expect(event).toMatchObject({ isBase64Encoded: false });
    expect(event.body?.startsWith('\uFEFF')).toBe(true);
  });

  it('passes a body that is not UTF-8 as base64', () => {
    expect(eventFor(Buffer.from([0xff, 0xfe, 0x00]))).toMatchObject({ isBase64Encoded: true, body: '//4A' });
  });
});
