// Console: the web console of a deployed stage (docs/deploy.md, "Web console").
//
// - The files (web/dist) live in a private S3 bucket that only this stage's CloudFront
//   distribution can read (origin access control, bucket policy conditioned on the distribution);
//   `npm run console:publish -- --stage <stage>` uploads them after `sst deploy`.
// - Sign-in: a Cognito user pool of its own (no self sign-up: an administrator creates each
//   operator; MFA required; threat protection enforced) with a hosted-UI app client using the
//   authorization code grant with PKCE and no client secret (a browser cannot keep one).
// - API calls stay IAM-authorized: the identity pool exchanges a signed-in user's ID token for
//   temporary credentials of the ConsoleOperatorRole, which holds exactly the Api stack's
//   OperatorPolicy (execute-api:Invoke on each route of this API, nothing else); the Api stack
//   attaches it and allows this distribution's origin in its CORS configuration. No
//   unauthenticated identities.
import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import { AllowedMethods, Distribution, HeadersFrameOption, HeadersReferrerPolicy, PriceClass, ResponseHeadersPolicy, ViewerProtocolPolicy } from 'aws-cdk-lib/aws-cloudfront';
import { S3BucketOrigin } from 'aws-cdk-lib/aws-cloudfront-origins';
import {
  CfnIdentityPool,
  CfnIdentityPoolRoleAttachment,
  FeaturePlan,
  Mfa,
  OAuthScope,
  StandardThreatProtectionMode,
  UserPool,
  UserPoolClient,
  UserPoolClientIdentityProvider,
} from 'aws-cdk-lib/aws-cognito';
import { FederatedPrincipal, Role } from 'aws-cdk-lib/aws-iam';
import { BlockPublicAccess, Bucket, BucketEncryption, ObjectOwnership } from 'aws-cdk-lib/aws-s3';
import type { StackContext } from 'sst/constructs';
import { suppress } from './nag.ts';
import { useSettings } from './settings.ts';

export interface ConsoleOutputs {
  readonly bucket: Bucket;
  readonly distribution: Distribution;
  /** `https://<distribution domain>`: the only origin the API's CORS allows. */
  readonly origin: string;
  readonly userPool: UserPool;
  readonly userPoolClient: UserPoolClient;
  readonly identityPool: CfnIdentityPool;
  /** Assumed through the identity pool by signed-in users; the Api stack attaches its OperatorPolicy. */
  readonly operatorRole: Role;
}

/** How long a console session's ID token and AWS credentials last before the user signs in again. */
export const CONSOLE_SESSION = Duration.hours(1);

export function Console({ stack, app }: StackContext): ConsoleOutputs {
  const production = useSettings(app).config.production;
  const removalPolicy = production ? RemovalPolicy.RETAIN : RemovalPolicy.DESTROY;

  // Access logs of the site bucket and of the distribution (CloudFront standard logging needs ACLs).
  const logs = new Bucket(stack, 'ConsoleLogs', {
    blockPublicAccess: BlockPublicAccess.BLOCK_ALL,
    encryption: BucketEncryption.S3_MANAGED,
    enforceSSL: true,
    objectOwnership: ObjectOwnership.BUCKET_OWNER_PREFERRED,
    lifecycleRules: [{ expiration: Duration.days(90) }],
    removalPolicy,
    autoDeleteObjects: false,
  });
  suppress(logs, [{ id: 'AwsSolutions-S1', reason: 'This bucket is the destination of the console bucket\'s and distribution\'s access logs; logging it into itself would loop.' }]);

  const bucket = new Bucket(stack, 'ConsoleFiles', {
    blockPublicAccess: BlockPublicAccess.BLOCK_ALL,
    encryption: BucketEncryption.S3_MANAGED,
    enforceSSL: true,
    versioned: true,
    serverAccessLogsBucket: logs,
    serverAccessLogsPrefix: 'site-bucket/',
    removalPolicy,
  });

  const userPool = new UserPool(stack, 'ConsoleUsers', {
    userPoolName: `switchyard-${app.stage}-console`,
    selfSignUpEnabled: false,
    signInAliases: { email: true },
    passwordPolicy: { minLength: 14, requireDigits: true, requireLowercase: true, requireUppercase: true, requireSymbols: true, tempPasswordValidity: Duration.days(3) },
    mfa: Mfa.REQUIRED,
    mfaSecondFactor: { otp: true, sms: false },
    featurePlan: FeaturePlan.PLUS,
    standardThreatProtectionMode: StandardThreatProtectionMode.FULL_FUNCTION,
    deletionProtection: production,
    removalPolicy,
  });

  const securityHeaders = new ResponseHeadersPolicy(stack, 'ConsoleHeaders', {
    comment: `Switchyard ${app.stage} console: CSP and security headers`,
    securityHeadersBehavior: {
      contentSecurityPolicy: {
        override: true,
        // The console talks to this region's API Gateway (SigV4), Cognito's identity endpoint and the
        // user pool's hosted UI domain; nothing else.
        contentSecurityPolicy: [
          "default-src 'self'",
          "script-src 'self'",
          "style-src 'self' 'unsafe-inline'",
          "img-src 'self' data:",
          "font-src 'self' data:",
          `connect-src 'self' https://*.execute-api.${stack.region}.amazonaws.com https://cognito-identity.${stack.region}.amazonaws.com https://*.auth.${stack.region}.amazoncognito.com`,
          "frame-ancestors 'self'",
          "base-uri 'none'",
          "form-action 'none'",
          "object-src 'none'",
        ].join('; '),
      },
      contentTypeOptions: { override: true },
      frameOptions: { frameOption: HeadersFrameOption.SAMEORIGIN, override: true },
      referrerPolicy: { referrerPolicy: HeadersReferrerPolicy.NO_REFERRER, override: true },
      strictTransportSecurity: { accessControlMaxAge: Duration.days(365), includeSubdomains: true, override: true },
    },
  });

  const distribution = new Distribution(stack, 'ConsoleDistribution', {
    comment: `Switchyard ${app.stage} console`,
    defaultRootObject: 'index.html',
    priceClass: PriceClass.PRICE_CLASS_100,
    enableLogging: true,
    logBucket: logs,
    logFilePrefix: 'cloudfront/',
    defaultBehavior: {
      origin: S3BucketOrigin.withOriginAccessControl(bucket),
      viewerProtocolPolicy: ViewerProtocolPolicy.REDIRECT_TO_HTTPS,
      allowedMethods: AllowedMethods.ALLOW_GET_HEAD,
      compress: true,
      responseHeadersPolicy: securityHeaders,
    },
  });
  suppress(distribution, [
    { id: 'AwsSolutions-CFR1', reason: 'Operators sign in from wherever they work; access is gated by Cognito sign-in with MFA and by IAM on every API call, not by geography.' },
    { id: 'AwsSolutions-CFR2', reason: 'The distribution serves static files only (no data, no API: API calls go to API Gateway, IAM-signed); a WAF web ACL would add cost without protecting data. Attach one by id if your organisation requires it.' },
    { id: 'AwsSolutions-CFR4', reason: 'The distribution uses the default *.cloudfront.net certificate, for which CloudFront fixes the viewer protocol policy (TLSv1 floor); a custom domain with its own ACM certificate and TLSv1.2_2021 is the documented upgrade (docs/deploy.md).' },
  ]);
  const origin = `https://${distribution.distributionDomainName}`;

  const domainPrefix = `switchyard-${app.stage}-${stack.account}`.toLowerCase().slice(0, 63);
  const domain = userPool.addDomain('ConsoleSignIn', { cognitoDomain: { domainPrefix } });
  const userPoolClient = userPool.addClient('ConsoleClient', {
    generateSecret: false,
    preventUserExistenceErrors: true,
    supportedIdentityProviders: [UserPoolClientIdentityProvider.COGNITO],
    authFlows: { userSrp: true },
    idTokenValidity: CONSOLE_SESSION,
    accessTokenValidity: CONSOLE_SESSION,
    refreshTokenValidity: Duration.hours(8),
    oAuth: { flows: { authorizationCodeGrant: true }, scopes: [OAuthScope.OPENID, OAuthScope.EMAIL], callbackUrls: [`${origin}/`], logoutUrls: [`${origin}/`] },
  });

  const identityPool = new CfnIdentityPool(stack, 'ConsoleIdentities', {
    identityPoolName: `switchyard_${app.stage}_console`.replace(/[^A-Za-z0-9_]/g, '_'),
    allowUnauthenticatedIdentities: false,
    allowClassicFlow: false,
    cognitoIdentityProviders: [{ clientId: userPoolClient.userPoolClientId, providerName: userPool.userPoolProviderName, serverSideTokenCheck: true }],
  });
  const operatorRole = new Role(stack, 'ConsoleOperatorRole', {
    description: `Switchyard ${app.stage}: signed-in console users (execute-api:Invoke on the control API routes, attached by the Api stack)`,
    maxSessionDuration: CONSOLE_SESSION,
    assumedBy: new FederatedPrincipal(
      'cognito-identity.amazonaws.com',
      {
        StringEquals: { 'cognito-identity.amazonaws.com:aud': identityPool.ref },
        'ForAnyValue:StringLike': { 'cognito-identity.amazonaws.com:amr': 'authenticated' },
      },
      'sts:AssumeRoleWithWebIdentity',
    ),
  });
  new CfnIdentityPoolRoleAttachment(stack, 'ConsoleIdentityRoles', { identityPoolId: identityPool.ref, roles: { authenticated: operatorRole.roleArn } });

  stack.addOutputs({
    ConsoleUrl: `${origin}/`,
    ConsoleBucket: bucket.bucketName,
    ConsoleDistributionId: distribution.distributionId,
    ConsoleUserPoolId: userPool.userPoolId,
    ConsoleUserPoolClientId: userPoolClient.userPoolClientId,
    ConsoleIdentityPoolId: identityPool.ref,
    ConsoleAuthDomain: domain.baseUrl(),
  });
  return { bucket, distribution, origin, userPool, userPoolClient, identityPool, operatorRole };
}
