// Api: the control plane's HTTP API. Every route requires SigV4-signed requests (IAM
// authorization); callers need execute-api:Invoke on the route, granted through the
// SwitchyardOperator managed policy this stack exports. Each route has its own function with its
// own role holding only the capabilities listed in capabilities.ts; the three that connect to the
// databases as their admin (create, delete, metrics) run in the stage's subnets.
import { ManagedPolicy, PolicyStatement, Effect } from 'aws-cdk-lib/aws-iam';
import { SecurityGroup } from 'aws-cdk-lib/aws-ec2';
import { LogGroup, type RetentionDays } from 'aws-cdk-lib/aws-logs';
import { Api as SstApi, use, type Function as SstFunction, type StackContext } from 'sst/constructs';
import { API_ROUTES, statementsFor, wildcardsFor } from './capabilities.ts';
import { switchyardEnvironment } from './environment.ts';
import { switchyardFunction } from './function.ts';
import { Console } from './Console.ts';
import { WILDCARDS, suppressWildcards } from './nag.ts';
import { allowDatabaseAccess, importStageNetwork } from './network.ts';
import { useSettings } from './settings.ts';
import { Storage } from './Storage.ts';

export interface ApiOutputs {
  readonly api: SstApi;
  readonly functions: ReadonlyMap<string, SstFunction>;
  readonly operatorPolicy: ManagedPolicy;
}

export function Api({ stack, app }: StackContext): ApiOutputs {
  const storage = use(Storage);
  const consoleSite = use(Console);
  const { config } = useSettings(app);
  const logRetention = config.logRetentionDays as RetentionDays;
  const environment = switchyardEnvironment(storage, app.stage);

  // Functions that talk to the databases (provisioning, purge, metrics) run in the stage's subnets.
  const net = importStageNetwork(stack, config);
  const databaseClients = new SecurityGroup(stack, 'DatabaseClientsSecurityGroup', {
    vpc: net.vpc,
    description: `Switchyard ${app.stage} control-plane functions: databases and AWS APIs out, nothing in`,
    allowAllOutbound: false,
  });
  allowDatabaseAccess(stack, databaseClients, config, `Switchyard ${app.stage} control plane`);
  const databaseEnvironment = {
    SWITCHYARD_TARGET_SSLMODE: config.targetSslMode,
    // Node.js 20+ Lambda runtimes do not load the Amazon RDS CA bundle unless told to (Lambda
    // developer guide, "Building Lambda functions with Node.js", CA certificates).
    NODE_EXTRA_CA_CERTS: '/var/runtime/ca-cert.pem',
  };

  const functions = new Map<string, SstFunction>();
  for (const spec of API_ROUTES) {
    functions.set(
      spec.route,
      switchyardFunction(stack, spec.id, {
        handler: spec.handler,
        description: spec.route,
        statements: statementsFor(spec.capabilities, { stack, stage: app.stage, storage, config }),
        wildcards: wildcardsFor(spec.capabilities),
        environment: spec.databaseAccess ? { ...environment, ...databaseEnvironment } : environment,
        logRetention,
        removalPolicy: storage.removalPolicy,
        timeoutSeconds: spec.databaseAccess ? 30 : 10,
        ...(spec.databaseAccess ? { network: { ...net, securityGroup: databaseClients } } : {}),
      }),
    );
  }

  const accessLogs = new LogGroup(stack, 'ApiAccessLogs', { retention: logRetention, removalPolicy: storage.removalPolicy });
  const api = new SstApi(stack, 'Api', {
    // SigV4-signed callers: the CLI, and the web console from its own origin only (Console.ts).
    cors: {
      allowOrigins: [consoleSite.origin],
      allowMethods: ['GET', 'POST', 'PATCH', 'DELETE'],
      allowHeaders: ['authorization', 'content-type', 'x-amz-date', 'x-amz-security-token', 'x-amz-content-sha256', 'if-match'],
      maxAge: '10 minutes',
    },
    accessLog: { destinationArn: accessLogs.logGroupArn },
    defaults: { authorizer: 'iam' },
    routes: Object.fromEntries(
      API_ROUTES.map((spec) => {
        const fn = functions.get(spec.route);
        if (!fn) throw new Error(`no function for ${spec.route}`);
        return [spec.route, { function: fn, authorizer: 'iam' as const }];
      }),
    ),
  });

  // What an operator (or CI) attaches to call the API; scoped to this API's routes.
  const operatorPolicy = new ManagedPolicy(stack, 'OperatorPolicy', {
    description: `Switchyard ${app.stage}: call the control API`,
    statements: [
      new PolicyStatement({
        sid: 'InvokeControlApi',
        effect: Effect.ALLOW,
        actions: ['execute-api:Invoke'],
        // execute-api ARNs end in /stage/METHOD/path; a path parameter matches with * (API
        // Gateway developer guide, "Control access to an HTTP API with IAM authorization").
        resources: API_ROUTES.map((spec) => {
          const [method = '', path = '/'] = spec.route.split(' ');
          return api.cdk.httpApi.arnForExecuteApi(method, path.replace(/\{[^}]+\}/g, '*'), '$default');
        }),
      }),
    ],
  });

  suppressWildcards(operatorPolicy, [WILDCARDS.executeApiPathParameters]);
  // Signed-in console users (Cognito identity pool) get exactly what an operator gets.
  operatorPolicy.attachToRole(consoleSite.operatorRole);

  stack.addOutputs({
    ApiEndpoint: api.url,
    OperatorPolicyArn: operatorPolicy.managedPolicyArn,
  });
  return { api, functions, operatorPolicy };
}
