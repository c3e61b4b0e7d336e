import { Duration, RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import * as cognito from 'aws-cdk-lib/aws-cognito';
import { Construct } from 'constructs';
import { ADMIN_GROUP } from '../../shared/http/identity.js';

/**
 * The Cognito user pool that issues the API's JWTs when no external issuer is configured. It is
 * stateful: each user's `sub` is the key of their row in tb_users (and so of their stored API
 * keys), and a new pool would mint new subjects. It lives with the data and is retained.
 */
export class CognitoUsers extends Construct {
  readonly userPool: cognito.UserPool;
  readonly client: cognito.UserPoolClient;
  readonly issuer: string;

  constructor(scope: Construct, id: string, props: { readonly stage: string }) {
    super(scope, id);

    this.userPool = new cognito.UserPool(this, 'UserPool', {
      userPoolName: `exchange-api-key-vault-${props.stage}`,
      selfSignUpEnabled: false,
      signInAliases: { email: true },
      autoVerify: { email: true },
      standardAttributes: { email: { required: true, mutable: true } },
      passwordPolicy: {
        minLength: 12,
        requireLowercase: true,
        requireUppercase: true,
        requireDigits: true,
        requireSymbols: true,
        tempPasswordValidity: Duration.days(3),
      },
      mfa: cognito.Mfa.OPTIONAL,
      mfaSecondFactor: { otp: true, sms: false },
      accountRecovery: cognito.AccountRecovery.EMAIL_ONLY,
      featurePlan: cognito.FeaturePlan.ESSENTIALS,
      deletionProtection: true,
      removalPolicy: RemovalPolicy.RETAIN,
    });

    this.client = this.userPool.addClient('WebClient', {
      userPoolClientName: 'web',
      generateSecret: false,
      authFlows: { userSrp: true, userPassword: true },
      // Sign-in is SRP or password against the pool; without this CDK adds the implicit and code
      // flows with https://example.com as callback, an OAuth client nobody configured.
      disableOAuth: true,
      preventUserExistenceErrors: true,
      accessTokenValidity: Duration.hours(1),
      idTokenValidity: Duration.hours(1),
      refreshTokenValidity: Duration.days(30),
      enableTokenRevocation: true,
    });
    // Kept with the pool: a retained pool is only usable again (as the external issuer of a new
    // stack) with its client, and who is an admin is state too.
    this.client.applyRemovalPolicy(RemovalPolicy.RETAIN);

    const adminGroup = new cognito.CfnUserPoolGroup(this, 'AdminGroup', {
      userPoolId: this.userPool.userPoolId,
      groupName: ADMIN_GROUP,
      description: 'May register new exchanges (POST /api/settings/exchanges)',
    });
    adminGroup.applyRemovalPolicy(RemovalPolicy.RETAIN);

    this.issuer = `https://cognito-idp.${Stack.of(this).region}.amazonaws.com/${this.userPool.userPoolId}`;

    Validations.of(this.userPool).acknowledge(
      ...[
        {
          id: 'AwsSolutions-COG2',
          reason:
            'MFA is optional (TOTP only, no SMS) so the existing web client, which has no MFA-setup step, keeps working; users can enrol TOTP. Switch to REQUIRED once the client supports it.',
        },
        {
          id: 'AwsSolutions-COG8',
          reason:
            'The Plus feature plan (threat protection) is billed per monthly active user; the Essentials plan is the cost decision for now. Self sign-up is off, so accounts are admin-created.',
        },
      ],
    );
  }
}
