import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from '@jest/globals';
import { DEFAULT_OPEN_CONCURRENCY, DEFAULT_OPENS_ALARM_THRESHOLD, DEFAULT_THROTTLE, parseConfig } from '../../infra/config.js';
import { REPO_ROOT } from '../../infra/paths.js';
import { ConfigError } from '../../shared/config.js';

describe('parseConfig (the context infra/app.ts reads)', () => {
  it('defaults to the dev stage, Cognito, db.t4g.micro and no CORS', () => {
    expect(parseConfig({})).toEqual({
      stage: 'dev',
      production: false,
      auth: { kind: 'cognito' },
      dbInstanceType: 't4g.micro',
      corsOrigin: undefined,
      availabilityZones: undefined,
      throttle: DEFAULT_THROTTLE,
      engine: { roleArns: [], reservedConcurrency: DEFAULT_OPEN_CONCURRENCY, opensAlarmThreshold: DEFAULT_OPENS_ALARM_THRESHOLD },
      logRetentionDays: 30,
    });
  });

  it('takes the engine role ARNs as a comma-separated list or an array, trimmed and without duplicates', () => {
    const engine = 'arn:aws:iam::123456789012:role/trading/engine';
    const other = 'arn:aws-cn:iam::210987654321:role/engine-2';
    expect(parseConfig({ engineRoleArns: ` ${engine}, ${other},${engine}, ` }).engine.roleArns).toEqual([engine, other]);
    expect(parseConfig({ engineRoleArns: [engine] }).engine.roleArns).toEqual([engine]);
  });

  it.each([
    ['a user', 'arn:aws:iam::123456789012:user/engine'],
    ['an account root', 'arn:aws:iam::123456789012:root'],
    ['a wildcard', 'arn:aws:iam::123456789012:role/*'],
    ['an account id alone', '123456789012'],
    ['a service', 'lambda.amazonaws.com'],
    ['a role of a short account id', 'arn:aws:iam::1234:role/engine'],
  ])('refuses %s as an engine principal', (_, arn) => {
    expect(() => parseConfig({ engineRoleArns: arn })).toThrow(/engineRoleArns/);
  });

  it('reserves no concurrency for open-api-key with openConcurrency=none (an account whose quota is 10 can reserve none)', () => {
    expect(parseConfig({ openConcurrency: 'none' }).engine.reservedConcurrency).toBeUndefined();
    expect(parseConfig({ openConcurrency: ' none ' }).engine.reservedConcurrency).toBeUndefined();
    expect(() => parseConfig({ openConcurrency: 'off' })).toThrow(/openConcurrency/);
  });

  it('takes the open concurrency and the opens alarm threshold as positive integers, and refuses anything else', () => {
    expect(parseConfig({ openConcurrency: '2', opensAlarmThreshold: 50 }).engine).toMatchObject({ reservedConcurrency: 2, opensAlarmThreshold: 50 });
    for (const bad of ['0', '-1', '1.5', 'many', 0, true]) {
      expect(() => parseConfig({ openConcurrency: bad })).toThrow(/openConcurrency/);
      expect(() => parseConfig({ opensAlarmThreshold: bad })).toThrow(/opensAlarmThreshold/);
    }
  });

  it('treats every stage but dev as production', () => {
    expect(parseConfig({ stage: 'prod' }).production).toBe(true);
    expect(parseConfig({ stage: 'staging' }).production).toBe(true);
  });

  it.each(['Prod', 'prod_1', '', ' dev', '1prod', 'a-very-long-stage-name'])('rejects the stage %j', (stage) => {
    if (stage === '' || stage === ' dev') {
      // Empty means "not given"; surrounding spaces are trimmed.
      expect(parseConfig({ stage }).stage).toBe('dev');
      return;
    }
    expect(() => parseConfig({ stage })).toThrow(ConfigError);
  });

  it('takes an external issuer and audience together, as a list or comma-separated', () => {
    // Kept exactly, trailing slash included: API Gateway compares the token's iss with it byte for byte.
    expect(parseConfig({ jwtIssuer: 'https://login.example.com/', jwtAudience: 'a, b' }).auth).toEqual({
      kind: 'external',
      issuer: 'https://login.example.com/',
      audience: ['a', 'b'],
    });
    expect(parseConfig({ jwtIssuer: 'https://login.example.com', jwtAudience: ['a'] }).auth).toEqual({
      kind: 'external',
      issuer: 'https://login.example.com',
      audience: ['a'],
    });
  });

  it('refuses an issuer without an audience, an audience without an issuer, and a non-https issuer', () => {
    expect(() => parseConfig({ jwtIssuer: 'https://login.example.com' })).toThrow(/go together/);
    expect(() => parseConfig({ jwtAudience: 'a' })).toThrow(/go together/);
    expect(() => parseConfig({ jwtIssuer: 'http://login.example.com', jwtAudience: 'a' })).toThrow(/https/);
    expect(() => parseConfig({ jwtIssuer: 'not a url', jwtAudience: 'a' })).toThrow(/URL/);
  });

  it('reads the database size as a t4g size or a full instance type', () => {
    expect(parseConfig({ dbInstanceSize: 'small' }).dbInstanceType).toBe('t4g.small');
    expect(parseConfig({ dbInstanceSize: 'db.r7g.large' }).dbInstanceType).toBe('r7g.large');
    expect(parseConfig({ dbInstanceSize: 'm7g.2xlarge' }).dbInstanceType).toBe('m7g.2xlarge');
    expect(() => parseConfig({ dbInstanceSize: 'huge' })).toThrow(ConfigError);
    expect(() => parseConfig({ dbInstanceSize: 42 })).toThrow(ConfigError);
  });

  it('accepts one bare https origin for CORS (http only for localhost)', () => {
    expect(parseConfig({ corsOrigin: 'https://app.example.com' }).corsOrigin).toBe('https://app.example.com');
    expect(parseConfig({ corsOrigin: 'http://localhost:5173' }).corsOrigin).toBe('http://localhost:5173');
    expect(() => parseConfig({ corsOrigin: 'http://app.example.com' })).toThrow(ConfigError);
    expect(() => parseConfig({ corsOrigin: 'https://app.example.com/path' })).toThrow(/bare origin/);
    expect(() => parseConfig({ corsOrigin: '*' })).toThrow(ConfigError);
  });

  it("takes two availability zones by name or zone ID, or none for the region's default", () => {
    expect(parseConfig({ availabilityZones: 'us-east-1a, us-east-1b' }).availabilityZones).toEqual(['us-east-1a', 'us-east-1b']);
    expect(parseConfig({ availabilityZones: ['use1-az1', 'use1-az4'] }).availabilityZones).toEqual(['use1-az1', 'use1-az4']);
    for (const bad of ['us-east-1a', 'us-east-1a,us-east-1a', 'us-east-1a,us-east-1b,us-east-1c', 'a,b', 42]) {
      expect(() => parseConfig({ availabilityZones: bad })).toThrow(/availabilityZones/);
    }
  });

  it('takes per-route limits for reads and writes, defaulting writes lower than reads', () => {
    expect(DEFAULT_THROTTLE.write.rateLimit).toBeLessThan(DEFAULT_THROTTLE.read.rateLimit);
    expect(DEFAULT_THROTTLE.write.burstLimit).toBeLessThan(DEFAULT_THROTTLE.read.burstLimit);
    expect(parseConfig({ writeRateLimit: '5', readBurstLimit: 300 }).throttle).toEqual({
      read: { rateLimit: DEFAULT_THROTTLE.read.rateLimit, burstLimit: 300 },
      write: { rateLimit: 5, burstLimit: DEFAULT_THROTTLE.write.burstLimit },
    });
    for (const bad of ['0', '-1', '1.5', 'fast']) expect(() => parseConfig({ readRateLimit: bad })).toThrow(/readRateLimit/);
  });
});

describe('where the infrastructure code gets its inputs', () => {
  const infraFiles = (dir = join(REPO_ROOT, 'infra')): string[] =>
    readdirSync(dir, { withFileTypes: true }).flatMap((entry) =>
      entry.isDirectory() ? infraFiles(join(dir, entry.name)) : entry.name.endsWith('.ts') ? [join(dir, entry.name)] : [],
    );
  const filesMatching = (pattern: RegExp): string[] =>
    infraFiles()
      .filter((file) => pattern.test(readFileSync(file, 'utf8')))
      .map((file) => relative(REPO_ROOT, file));

  it('reads CDK context in infra/app.ts and nowhere else', () => {
    expect(filesMatching(/tryGetContext|getContext\(|\.node\.getAllContext/)).toEqual(['infra/app.ts']);
  });

  it('does no lookups and reads no environment variable at synth time', () => {
    expect(filesMatching(/fromLookup|valueFromLookup|\.lookup\(|ContextProvider/)).toEqual([]);
    // The ring initializer is Lambda code, not synth-time code; it reads nothing from the environment either.
    expect(filesMatching(/process\.env|CDK_DEFAULT_(ACCOUNT|REGION)/)).toEqual([]);
  });
});
