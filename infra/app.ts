#!/usr/bin/env node
import { App } from 'aws-cdk-lib';
import { parseConfig } from './config.js';
import { buildVault } from './vault.js';

// The only place that reads context; everything below receives the validated config as props.
const app = new App();
const context = (key: string): unknown => app.node.tryGetContext(key);
const config = parseConfig({
  stage: context('stage'),
  jwtIssuer: context('jwtIssuer'),
  jwtAudience: context('jwtAudience'),
  dbInstanceSize: context('dbInstanceSize'),
  corsOrigin: context('corsOrigin'),
  availabilityZones: context('availabilityZones'),
  readRateLimit: context('readRateLimit'),
  readBurstLimit: context('readBurstLimit'),
  writeRateLimit: context('writeRateLimit'),
  writeBurstLimit: context('writeBurstLimit'),
  engineRoleArns: context('engineRoleArns'),
  openConcurrency: context('openConcurrency'),
  opensAlarmThreshold: context('opensAlarmThreshold'),
  exchangeChecks: context('exchangeChecks'),
  requireIpRestriction: context('requireIpRestriction'),
  restoreSnapshot: context('restoreSnapshot'),
});
buildVault(app, config);
app.synth();
