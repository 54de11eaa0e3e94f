// PoolerFleet: the data plane. An Auto Scaling group of Amazon Linux 2023 instances across the
// stage's subnets (one per AZ) behind an internal Network Load Balancer on the PostgreSQL port.
//
// Traffic is allowed hop by hop and nothing else:
//   clients (stage config CIDRs / security groups) → NLB security group  : pooler port
//   NLB security group → pooler security group                          : pooler port, health port
//   pooler security group → pooler security group                       : cancel peer port
//   pooler security group → each database (its security group or CIDR)  : the database's port
//   pooler security group → HTTPS (AWS APIs, dnf repositories)          : 443
// The NLB health check asks the pooler's GET /readyz, which answers 503 while draining, so an
// instance being replaced stops receiving new clients before it stops.
//
// Each instance carries the tags SendCommand is conditioned on (switchyard:role=pooler and the
// stage), runs the SSM agent, ships its logs to CloudWatch, and may only read the table and the
// stage's parameters, write its own heartbeat row, and decrypt tenant passwords under the
// encryption-context condition.
import { Duration, Tags } from 'aws-cdk-lib';
import {
  AdditionalHealthCheckType,
  AutoScalingGroup,
  HealthChecks,
  Signals,
  UpdatePolicy,
} from 'aws-cdk-lib/aws-autoscaling';
import {
  AmazonLinuxCpuType,
  BlockDeviceVolume,
  EbsDeviceVolumeType,
  InstanceType,
  LaunchTemplate,
  MachineImage,
  Peer,
  Port,
  SecurityGroup,
  UserData,
} from 'aws-cdk-lib/aws-ec2';
import {
  NetworkLoadBalancer,
  NetworkTargetGroup,
  Protocol,
  TargetGroupIpAddressType,
} from 'aws-cdk-lib/aws-elasticloadbalancingv2';
import { Effect, PolicyDocument, PolicyStatement, Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { LogGroup, type RetentionDays } from 'aws-cdk-lib/aws-logs';
import { Asset } from 'aws-cdk-lib/aws-s3-assets';
import { use, type StackContext } from 'sst/constructs';
import { poolerUserData } from '../deploy/user-data.ts';
import { POOLER_PORTS, POOLER_TAG, POOLER_TAG_ENV_VALUE, STAGE_TAG_KEY } from './contract.ts';
import { keyDecrypt, parametersRead, tableHeartbeatWrite, tableRead } from './permissions.ts';
import { WILDCARDS, suppress, suppressWildcards } from './nag.ts';
import { allowDatabaseAccess, importStageNetwork } from './network.ts';
import { useSettings } from './settings.ts';
import { Storage } from './Storage.ts';

export interface PoolerFleetOutputs {
  readonly loadBalancer: NetworkLoadBalancer;
  readonly targetGroup: NetworkTargetGroup;
  readonly autoScalingGroup: AutoScalingGroup;
  readonly poolerSecurityGroup: SecurityGroup;
  readonly loadBalancerSecurityGroup: SecurityGroup;
  readonly instanceRole: Role;
  readonly logGroup: LogGroup;
}

/** Partition-key pattern of pooler heartbeat rows (shared/src/aws/dynamo-keys.ts: POOLER#<id>). */
export const HEARTBEAT_KEY_PATTERN = 'POOLER#*';

/** Graviton instance families carry a "g" after the generation digit (t4g, c7g, m6gd, c6gn...). */
export function isArmInstanceType(instanceType: string): boolean {
  return /^[a-z]+\d+[a-z]*g[a-z]*\./.test(instanceType);
}

/**
 * The statements the SSM agent needs to register and receive Run Command and Session Manager
 * messages: the actions of the AmazonSSMManagedInstanceCore managed policy that the agent uses
 * for that (Systems Manager user guide, "Create an IAM instance profile for Systems Manager").
 * None of them supports resource-level permissions, hence "*".
 */
function ssmAgentStatement(): PolicyStatement {
  return new PolicyStatement({
    sid: 'SsmAgent',
    effect: Effect.ALLOW,
    actions: [
      'ssm:UpdateInstanceInformation',
      'ssm:ListInstanceAssociations',
      'ssmmessages:CreateControlChannel',
      'ssmmessages:CreateDataChannel',
      'ssmmessages:OpenControlChannel',
      'ssmmessages:OpenDataChannel',
      'ec2messages:AcknowledgeMessage',
      'ec2messages:DeleteMessage',
      'ec2messages:FailMessage',
      'ec2messages:GetEndpoint',
      'ec2messages:GetMessages',
      'ec2messages:SendReply',
    ],
    resources: ['*'],
  });
}

export function PoolerFleet({ stack, app }: StackContext): PoolerFleetOutputs {
  const storage = use(Storage);
  const { config, poolerBundleDir } = useSettings(app);
  const pooler = config.pooler;
  const healthPort = POOLER_PORTS.health;

  const { vpc, subnets } = importStageNetwork(stack, config);

  // --- Security groups: clients → NLB → poolers → databases -------------------------------
  const loadBalancerSecurityGroup = new SecurityGroup(stack, 'LoadBalancerSecurityGroup', {
    vpc,
    description: `Switchyard ${app.stage} NLB: PostgreSQL clients in, poolers out`,
    allowAllOutbound: false,
  });
  const poolerSecurityGroup = new SecurityGroup(stack, 'PoolerSecurityGroup', {
    vpc,
    description: `Switchyard ${app.stage} poolers: NLB in; databases and AWS APIs out`,
    allowAllOutbound: false,
  });
  for (const cidr of config.clients.cidrs) {
    loadBalancerSecurityGroup.addIngressRule(Peer.ipv4(cidr), Port.tcp(pooler.port), `PostgreSQL clients ${cidr}`);
  }
  config.clients.securityGroupIds.forEach((id, i) => {
    const clients = SecurityGroup.fromSecurityGroupId(stack, `ClientSecurityGroup${i}`, id, { mutable: false });
    loadBalancerSecurityGroup.addIngressRule(clients, Port.tcp(pooler.port), `PostgreSQL clients ${id}`);
  });
  loadBalancerSecurityGroup.addEgressRule(poolerSecurityGroup, Port.tcp(pooler.port), 'to poolers');
  loadBalancerSecurityGroup.addEgressRule(poolerSecurityGroup, Port.tcp(healthPort), 'health checks');
  poolerSecurityGroup.addIngressRule(loadBalancerSecurityGroup, Port.tcp(pooler.port), 'clients via the NLB');
  poolerSecurityGroup.addIngressRule(loadBalancerSecurityGroup, Port.tcp(healthPort), 'NLB health checks (/readyz)');
  // A CancelRequest that the NLB hands to another instance is forwarded to the instance that
  // issued the key, on its peer port; nothing but the poolers reaches that port.
  poolerSecurityGroup.addIngressRule(poolerSecurityGroup, Port.tcp(POOLER_PORTS.cancel), 'cancels forwarded by other poolers');
  poolerSecurityGroup.addEgressRule(poolerSecurityGroup, Port.tcp(POOLER_PORTS.cancel), 'cancels forwarded to other poolers');
  allowDatabaseAccess(stack, poolerSecurityGroup, config, `Switchyard ${app.stage} poolers`);

  // --- Logs, bundle, role --------------------------------------------------------------------
  const logGroup = new LogGroup(stack, 'PoolerLogs', {
    logGroupName: `/switchyard/${app.stage}/pooler`,
    retention: config.logRetentionDays as RetentionDays,
    removalPolicy: storage.removalPolicy,
  });
  const bundle = new Asset(stack, 'PoolerBundle', { path: poolerBundleDir });

  const instanceRole = new Role(stack, 'PoolerInstanceRole', {
    assumedBy: new ServicePrincipal('ec2.amazonaws.com'),
    description: `Switchyard ${app.stage} pooler instances`,
    inlinePolicies: {
      Pooler: new PolicyDocument({
        statements: [
          tableRead(storage.table),
          tableHeartbeatWrite(storage.table, HEARTBEAT_KEY_PATTERN),
          parametersRead(stack, app.stage),
          keyDecrypt(storage.key, ['tenantId']),
          new PolicyStatement({
            sid: 'PoolerLogs',
            effect: Effect.ALLOW,
            actions: ['logs:CreateLogStream', 'logs:PutLogEvents', 'logs:DescribeLogStreams'],
            resources: [logGroup.logGroupArn],
          }),
          new PolicyStatement({
            sid: 'PoolerBundle',
            effect: Effect.ALLOW,
            actions: ['s3:GetObject'],
            resources: [bundle.bucket.arnForObjects(bundle.s3ObjectKey)],
          }),
          ssmAgentStatement(),
        ],
      }),
    },
  });

  suppressWildcards(instanceRole, [WILDCARDS.parameterPath, WILDCARDS.ssmAgent]);

  // --- Launch template and Auto Scaling group -----------------------------------------------
  const userData = UserData.forLinux();
  const launchTemplate = new LaunchTemplate(stack, 'PoolerLaunchTemplate', {
    instanceType: new InstanceType(pooler.instanceType),
    machineImage: MachineImage.latestAmazonLinux2023({
      cpuType: isArmInstanceType(pooler.instanceType) ? AmazonLinuxCpuType.ARM_64 : AmazonLinuxCpuType.X86_64,
    }),
    userData,
    role: instanceRole,
    securityGroup: poolerSecurityGroup,
    requireImdsv2: true,
    httpPutResponseHopLimit: 1,
    detailedMonitoring: true,
    associatePublicIpAddress: false,
    blockDevices: [{ deviceName: '/dev/xvda', volume: BlockDeviceVolume.ebs(16, { volumeType: EbsDeviceVolumeType.GP3, encrypted: true }) }],
  });

  const autoScalingGroup = new AutoScalingGroup(stack, 'PoolerFleet', {
    vpc,
    vpcSubnets: subnets,
    launchTemplate,
    minCapacity: pooler.minCapacity,
    maxCapacity: pooler.maxCapacity,
    // The NLB's view (/readyz) decides health, not only the EC2 status checks.
    healthChecks: HealthChecks.withAdditionalChecks({ additionalTypes: [AdditionalHealthCheckType.ELB], gracePeriod: Duration.minutes(5) }),
    // New instances must report ready (user data's cfn-signal) before old ones go, one at a time.
    signals: Signals.waitForMinCapacity({ timeout: Duration.minutes(15) }),
    updatePolicy: UpdatePolicy.rollingUpdate({ maxBatchSize: 1, minInstancesInService: pooler.minCapacity }),
    defaultInstanceWarmup: Duration.minutes(3),
  });
  autoScalingGroup.scaleOnCpuUtilization('CpuTarget', { targetUtilizationPercent: 60 });
  Tags.of(autoScalingGroup).add(POOLER_TAG.key, POOLER_TAG.value, { applyToLaunchedInstances: true });
  Tags.of(autoScalingGroup).add(STAGE_TAG_KEY, app.stage, { applyToLaunchedInstances: true });

  suppress(autoScalingGroup, [
    {
      id: 'AwsSolutions-AS3',
      reason:
        'Launch/terminate notifications would page on every scale event and rolling deploy; what needs a human surfaces as the UnhealthyPoolers and NoHealthyPoolers alarms, and a launch that never becomes ready fails its CloudFormation signal. Activity history and EventBridge keep the record.',
    },
  ]);

  userData.addSignalOnExitCommand(autoScalingGroup);
  userData.addCommands(
    poolerUserData({
      stage: app.stage,
      region: stack.region,
      table: storage.table.tableName,
      kmsKeyId: storage.key.keyArn,
      poolerTag: POOLER_TAG_ENV_VALUE,
      bundleUrl: bundle.s3ObjectUrl,
      bundleHash: bundle.assetHash,
      port: pooler.port,
      healthPort,
      cancelPort: POOLER_PORTS.cancel,
      shutdownTimeoutSeconds: pooler.shutdownTimeoutSeconds,
      logGroupName: logGroup.logGroupName,
    }),
  );

  // --- Network Load Balancer -----------------------------------------------------------------
  const loadBalancer = new NetworkLoadBalancer(stack, 'PoolerLoadBalancer', {
    vpc,
    vpcSubnets: subnets,
    internetFacing: false,
    crossZoneEnabled: true,
    securityGroups: [loadBalancerSecurityGroup],
    deletionProtection: storage.production,
  });
  suppress(loadBalancer, [
    {
      id: 'AwsSolutions-ELB2',
      reason: 'NLB access logs are only written for TLS listeners (ELB guide, "Access logs for your Network Load Balancer"); this listener is plain TCP because PostgreSQL negotiates TLS inside its own protocol (SSLRequest), which a TLS listener would break.',
    },
  ]);
  const targetGroup = new NetworkTargetGroup(stack, 'PoolerTargets', {
    vpc,
    port: pooler.port,
    protocol: Protocol.TCP,
    ipAddressType: TargetGroupIpAddressType.IPV4,
    targets: [autoScalingGroup],
    // Existing connections keep flowing while the instance drains; new ones go elsewhere.
    deregistrationDelay: Duration.seconds(pooler.shutdownTimeoutSeconds + 15),
    connectionTermination: false,
    // Clients' own addresses reach the pooler (its logs and per-client limits use them); the
    // pooler group still only admits the NLB's group (ELB guide, "Security groups for your
    // Network Load Balancer": referencing the NLB group works with client IP preservation).
    preserveClientIp: true,
    healthCheck: {
      protocol: Protocol.HTTP,
      port: String(healthPort),
      path: '/readyz',
      healthyHttpCodes: '200',
      interval: Duration.seconds(10),
      timeout: Duration.seconds(5),
      healthyThresholdCount: 2,
      unhealthyThresholdCount: 2,
    },
  });
  loadBalancer.addListener('Postgres', { port: pooler.port, protocol: Protocol.TCP, defaultTargetGroups: [targetGroup] });

  stack.addOutputs({
    PoolerEndpoint: `${loadBalancer.loadBalancerDnsName}:${pooler.port}`,
    PoolerSecurityGroupId: poolerSecurityGroup.securityGroupId,
    PoolerLogGroup: logGroup.logGroupName,
  });
  return { loadBalancer, targetGroup, autoScalingGroup, poolerSecurityGroup, loadBalancerSecurityGroup, instanceRole, logGroup };
}
