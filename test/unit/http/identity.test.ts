import { describe, expect, it } from '@jest/globals';
import { AppError } from '../../../shared/errors.js';
import { callerFromEvent, groupsFromClaim } from '../../../shared/http/identity.js';
import { apiEvent } from '../../support/events.js';

describe('groupsFromClaim', () => {
  it.each([
    ['[admin]', ['admin']],
    ['[admin staff]', ['admin', 'staff']],
    // Whitespace separates; a comma belongs to the name it follows.
    ['[staff, admin]', ['staff,', 'admin']],
    ['[team,admin]', ['team,admin']],
    ['[admin', ['[admin']],
    ['[]', []],
    ['administrators', ['administrators']],
    [['admin', 7], ['admin']],
    [
      ['not admin', 'team,admin', ' admin'],
      ['not admin', 'team,admin', ' admin'],
    ],
    [undefined, []],
  ])('reads %j as API Gateway or a local event carries it', (claim, groups) => {
    expect(groupsFromClaim(claim)).toEqual(groups);
  });
});

describe('callerFromEvent', () => {
  it('makes an admin only of the exact admin group', () => {
    const event = apiEvent({ method: 'GET', path: '/', subject: 'a' });
    event.requestContext.authorizer.jwt.claims['cognito:groups'] = '[administrators]';
    expect(callerFromEvent(event)).toEqual({ subject: 'a', isAdmin: false });
    expect(callerFromEvent(apiEvent({ method: 'GET', path: '/', subject: 'a', admin: true }))).toEqual({ subject: 'a', isAdmin: true });
  });

  it.each([[['not admin']], [['team,admin']], [['Admin']], [[' admin ']], ['[team,admin]'], ['[not-admin staff]'], ['team,admin']])(
    'makes no admin of %j, whose names only contain "admin"',
    (groups) => {
      const event = apiEvent({ method: 'GET', path: '/', subject: 'a' });
      event.requestContext.authorizer.jwt.claims['cognito:groups'] = groups;
      expect(callerFromEvent(event)).toEqual({ subject: 'a', isAdmin: false });
    },
  );

  it.each([[['staff', 'admin']], ['[staff admin]'], ['[admin]'], ['admin']])('makes an admin of %j', (groups) => {
    const event = apiEvent({ method: 'GET', path: '/', subject: 'a' });
    event.requestContext.authorizer.jwt.claims['cognito:groups'] = groups;
    expect(callerFromEvent(event)).toEqual({ subject: 'a', isAdmin: true });
  });

  it('refuses with 401 a subject longer than OpenID Connect allows (255 bytes), which the subject index could not hold', () => {
    const status = (subject: string) => {
      try {
        callerFromEvent(apiEvent({ method: 'GET', path: '/', subject }));
        return 200;
      } catch (thrown) {
        return (thrown as AppError).status;
      }
    };
    expect(status('s'.repeat(255))).toBe(200);
    expect(status('s'.repeat(256))).toBe(401);
    expect(status('é'.repeat(128))).toBe(401);
  });

  it('refuses an event without a subject with 401', () => {
    const error = (() => {
      try {
        callerFromEvent(apiEvent({ method: 'GET', path: '/' }));
      } catch (thrown) {
        return thrown;
      }
    })();
    expect(error).toBeInstanceOf(AppError);
    expect((error as AppError).status).toBe(401);
  });
});
