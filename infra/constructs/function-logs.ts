import { CfnResource, RemovalPolicy, type Stack } from 'aws-cdk-lib';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';

/**
 * Gives every function in `stack` that has no log group of its own one with a retention, deleted
 * with the stack. Ours have theirs (VaultFunction); this catches the handlers aws-cdk-lib adds
 * (the Trigger's provider, the default-security-group restriction), which would otherwise log to
 * a group Lambda creates on first run: kept forever, and left behind when the stack is deleted.
 * Call it once the stack is built.
 */
export function giveEveryFunctionLogRetention(stack: Stack, retentionDays: number): void {
  for (const node of stack.node.findAll()) {
    if (!CfnResource.isCfnResource(node) || node.cfnResourceType !== 'AWS::Lambda::Function') continue;
    if (node instanceof lambda.CfnFunction && (node.loggingConfig as lambda.CfnFunction.LoggingConfigProperty | undefined)?.logGroup) continue;
    const scope = node.node.scope;
    if (!scope) continue;
    const logGroup = new logs.LogGroup(scope, `${node.node.id}LogGroup`, {
      retention: retentionDays as logs.RetentionDays,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    // The group is referenced, so it exists before the function first runs and writes to it.
    node.addPropertyOverride('LoggingConfig.LogGroup', logGroup.logGroupName);
  }
}

/**
 * The stage's retention on every log group of `stack` (functions, access logs, flow logs, the
 * rotation function's): one policy per stage instead of one per construct. Call it once the stack is built.
 */
export function applyStageLogRetention(stack: Stack, retentionDays: number): void {
  for (const node of stack.node.findAll()) {
    if (node instanceof logs.CfnLogGroup) node.retentionInDays = retentionDays;
  }
}
