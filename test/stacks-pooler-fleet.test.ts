// PoolerFleet stack: instances across the stage's AZs behind an internal NLB on the PostgreSQL
// port, health-checked on the pooler's /readyz, security groups chaining clients → NLB → poolers →
// databases, the tags SendCommand is conditioned on, a least-privilege instance role, and user data
// that installs Node 22, the bundle and the systemd unit.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CfnElement, Stack } from 'aws-cdk-lib';
import { Match, type Template } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import { actionsOf, resourcesOf, roleStatements, synthOffline, testStageConfig, type OfflineSynth } from '../stacks/offline-synth.ts';
import { parseConfig } from '../pooler/src/config/load.ts';
import { PoolerFleet, isArmInstanceType } from '../stacks/PoolerFleet.ts';
import { keys } from '../shared/src/aws/dynamo-keys.ts';
import { userDataPoolerYaml } from './helpers/user-data.ts';

let synth: OfflineSynth;
let t: Template;

beforeAll(async () => {
  synth = await synthOffline({ stage: 'test', config: testStageConfig() });
  t = synth.template(PoolerFleet);
});

type Resource = { Type: string; Properties: Record<string, unknown>; UpdatePolicy?: Record<string, unknown>; CreationPolicy?: Record<string, unknown> };
const resources = () => t.toJSON().Resources as Record<string, Resource>;
const idOf = (type: string, prefix: string) => Object.entries(resources()).find(([id, r]) => r.Type === type && id.startsWith(prefix))?.[0] ?? '';
const sg = (prefix: string) => ({ 'Fn::GetAtt': [idOf('AWS::EC2::SecurityGroup', prefix), 'GroupId'] });

describe('the Auto Scaling group', () => {
  it('spans the stage subnets, sizes from the stage config, and judges health by the load balancer', () => {
    t.hasResourceProperties('AWS::AutoScaling::AutoScalingGroup', {
      VPCZoneIdentifier: ['subnet-0aaaaaaaaaaaaaaa1', 'subnet-0bbbbbbbbbbbbbbb2'],
      MinSize: '2',
      MaxSize: '6',
      HealthCheckType: 'ELB',
      TargetGroupARNs: [{ Ref: idOf('AWS::ElasticLoadBalancingV2::TargetGroup', 'PoolerTargets') }],
      DesiredCapacity: Match.absent(),
    });
  });

  it('tags every instance switchyard:role=pooler and with the stage (SendCommand conditions on both)', () => {
    t.hasResourceProperties('AWS::AutoScaling::AutoScalingGroup', {
      Tags: Match.arrayWith([
        { Key: 'switchyard:role', Value: 'pooler', PropagateAtLaunch: true },
        { Key: 'switchyard:stage', Value: 'test', PropagateAtLaunch: true },
      ]),
    });
  });

  it('replaces instances one at a time and only after the new one reports ready', () => {
    const asg = resources()[idOf('AWS::AutoScaling::AutoScalingGroup', 'PoolerFleet')];
    expect(asg?.UpdatePolicy?.AutoScalingRollingUpdate).toMatchObject({ MaxBatchSize: 1, MinInstancesInService: 2, WaitOnResourceSignals: true });
    expect(asg?.CreationPolicy).toEqual({ ResourceSignal: { Count: 2, Timeout: 'PT15M' } });
  });
});

describe('the launch template', () => {
  it('runs Amazon Linux 2023 on Graviton with IMDSv2, encrypted gp3 root volume, no public IP, the pooler group and role', () => {
    const lt = resources()[idOf('AWS::EC2::LaunchTemplate', 'PoolerLaunchTemplate')]?.Properties.LaunchTemplateData as Record<string, unknown>;
    expect(lt.InstanceType).toBe('t4g.medium');
    expect(JSON.stringify(lt.ImageId)).toMatch(/Ssm.*al2023.*arm64/i);
    expect(t.toJSON().Parameters).toMatchObject({
      [String((lt.ImageId as { Ref: string }).Ref)]: { Default: '/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-6.1-arm64' },
    });
    expect(lt.MetadataOptions).toEqual({ HttpTokens: 'required', HttpPutResponseHopLimit: 1 });
    expect(lt.BlockDeviceMappings).toEqual([{ DeviceName: '/dev/xvda', Ebs: { Encrypted: true, VolumeSize: 16, VolumeType: 'gp3' } }]);
    expect(lt.NetworkInterfaces).toEqual([{ AssociatePublicIpAddress: false, DeviceIndex: 0, Groups: [sg('PoolerSecurityGroup')] }]);
    expect(lt.Monitoring).toEqual({ Enabled: true });
  });

  it('picks the AMI architecture from the instance type', () => {
    expect(['t4g.medium', 'c7g.large', 'm6gd.xlarge', 'c6gn.2xlarge', 'r8g.large'].every(isArmInstanceType)).toBe(true);
    expect(['t3.medium', 'm7i.large', 'c6a.large', 'g5.xlarge'].some(isArmInstanceType)).toBe(false);
  });
});

describe('the user data', () => {
  const script = (): string => {
    const lt = resources()[idOf('AWS::EC2::LaunchTemplate', 'PoolerLaunchTemplate')]?.Properties.LaunchTemplateData as { UserData: { 'Fn::Base64': { 'Fn::Join': [string, unknown[]] } } };
    // Deploy-time values (table name, key ARN, log group) stand in as TOKEN.
    return lt.UserData['Fn::Base64']['Fn::Join'][1].map((p) => (typeof p === 'string' ? p : 'TOKEN')).join('');
  };

  it('installs Node 22, the bundle from its asset, the env file, and the unit from the bundle, then waits for /readyz', () => {
    const s = script();
    expect(s.startsWith('#!/bin/bash\n')).toBe(true);
    expect(s).toMatch(/^dnf install -y nodejs22 /m);
    expect(s).toMatch(/^BUNDLE_URL='s3:\/\/cdk-[a-z0-9]+-assets-123456789012-eu-west-1\/[0-9a-f]{64}\.zip'$/m);
    expect(s).toContain('SWITCHYARD_TABLE=$SWITCHYARD_TABLE');
    expect(s).toContain('SWITCHYARD_POOLER_ARGS=--source aws --config /etc/switchyard/pooler.yaml');
    expect(s).toContain('install -m 0644 "$release/switchyard.service" /etc/systemd/system/switchyard.service');
    expect(s).toContain('systemctl enable --now switchyard.service');
    expect(s).toContain('http://127.0.0.1:$HEALTH_PORT/readyz');
    expect(s).toMatch(/^HEALTH_PORT='9127'$/m);
    // The pooler's health endpoint is off unless configured, and loopback by default.
    expect(s).toContain('metrics:\n  host: 0.0.0.0\n  port: $HEALTH_PORT\n');
  });

  it('writes a pooler.yaml the pooler accepts: all interfaces on 5432, health on 9127, no tenants (they come from AWS)', () => {
    const config = parseConfig(userDataPoolerYaml(script(), { PRIVATE_IP: '10.0.1.23' }), 'user-data pooler.yaml');
    expect(config.listen).toMatchObject({ host: '0.0.0.0', port: 5432 });
    expect(config.metrics).toEqual({ host: '0.0.0.0', port: 9127 });
    expect(config.limits.shutdown_timeout).toBe(30);
    expect(config.tenants).toEqual([]);
  });

  it('gives every instance its own cancel-key node id without per-instance settings: leased from the table, peers forward to its private IP on 9128', () => {
    const s = script();
    const config = parseConfig(userDataPoolerYaml(s, { PRIVATE_IP: '10.0.1.23' }), 'user-data pooler.yaml');
    expect(config.cluster).toEqual({ node_id: 'auto', peers: [], peer_port: 9128, advertise_host: '10.0.1.23' });
    // The private IP comes from IMDSv2 (the launch template requires tokens), before the file is written.
    expect(s).toMatch(/^imds_token="\$\(curl -fsS -X PUT -H 'X-aws-ec2-metadata-token-ttl-seconds: \d+' http:\/\/169\.254\.169\.254\/latest\/api\/token\)"$/m);
    expect(s).toMatch(/^PRIVATE_IP="\$\(curl -fsS -H "X-aws-ec2-metadata-token: \$imds_token" http:\/\/169\.254\.169\.254\/latest\/meta-data\/local-ipv4\)"$/m);
    expect(s.indexOf('PRIVATE_IP=')).toBeLessThan(s.indexOf('cat > "/etc/switchyard/pooler.yaml"'));
  });

  it('reports its exit status to CloudFormation (cfn-signal in an EXIT trap)', () => {
    const s = script();
    const asg = idOf('AWS::AutoScaling::AutoScalingGroup', 'PoolerFleet');
    expect(s).toContain(`/opt/aws/bin/cfn-signal --stack test-switchyard-PoolerFleet --resource ${asg} --region eu-west-1 -e $exitCode`);
    expect(s.indexOf('trap exitTrap EXIT')).toBeLessThan(s.indexOf('set -euo pipefail'));
  });

  it('is valid bash', () => {
    const file = join(mkdtempSync(join(tmpdir(), 'switchyard-userdata-')), 'user-data.sh');
    writeFileSync(file, script());
    expect(() => execFileSync('bash', ['-n', file], { stdio: 'pipe' })).not.toThrow();
  });
});

describe('the load balancer', () => {
  it('is an internal NLB across the stage subnets with its own security group and a TCP listener on 5432', () => {
    t.hasResourceProperties('AWS::ElasticLoadBalancingV2::LoadBalancer', {
      Type: 'network',
      Scheme: 'internal',
      Subnets: ['subnet-0aaaaaaaaaaaaaaa1', 'subnet-0bbbbbbbbbbbbbbb2'],
      SecurityGroups: [sg('LoadBalancerSecurityGroup')],
      LoadBalancerAttributes: Match.arrayWith([{ Key: 'load_balancing.cross_zone.enabled', Value: 'true' }]),
    });
    t.hasResourceProperties('AWS::ElasticLoadBalancingV2::Listener', { Port: 5432, Protocol: 'TCP' });
  });

  it('health-checks the pooler over HTTP on 9127 at /readyz, and lets connections drain on deregistration', () => {
    t.hasResourceProperties('AWS::ElasticLoadBalancingV2::TargetGroup', {
      Port: 5432,
      Protocol: 'TCP',
      TargetType: 'instance',
      HealthCheckProtocol: 'HTTP',
      HealthCheckPort: '9127',
      HealthCheckPath: '/readyz',
      Matcher: { HttpCode: '200' },
    });
    const attributes = resources()[idOf('AWS::ElasticLoadBalancingV2::TargetGroup', 'PoolerTargets')]?.Properties.TargetGroupAttributes as { Key: string; Value: string }[];
    expect(Object.fromEntries(attributes.map((a) => [a.Key, a.Value]))).toEqual({
      // shutdown_timeout (30 s) plus room to close
      'deregistration_delay.timeout_seconds': '45',
      'deregistration_delay.connection_termination.enabled': 'false',
      'preserve_client_ip.enabled': 'true',
    });
  });
});

describe('the security groups', () => {
  const rules = (type: 'AWS::EC2::SecurityGroupIngress' | 'AWS::EC2::SecurityGroupEgress') => Object.values(resources()).filter((r) => r.Type === type).map((r) => r.Properties);
  const inline = (prefix: string, key: 'SecurityGroupIngress' | 'SecurityGroupEgress') =>
    (resources()[idOf('AWS::EC2::SecurityGroup', prefix)]?.Properties[key] as Record<string, unknown>[] | undefined) ?? [];

  it('clients (stage CIDRs and groups) reach only the NLB, on the pooler port', () => {
    const intoLb = [
      ...inline('LoadBalancerSecurityGroup', 'SecurityGroupIngress'),
      ...rules('AWS::EC2::SecurityGroupIngress').filter((r) => JSON.stringify(r.GroupId) === JSON.stringify(sg('LoadBalancerSecurityGroup'))),
    ];
    expect(intoLb.map((r) => `${String(r.CidrIp ?? r.SourceSecurityGroupId)} ${String(r.IpProtocol)} ${String(r.FromPort)}-${String(r.ToPort)}`).sort()).toEqual([
      '10.1.0.0/16 tcp 5432-5432',
      'sg-0cccccccccccccc01 tcp 5432-5432',
    ]);
    expect(inline('PoolerSecurityGroup', 'SecurityGroupIngress')).toEqual([]);
  });

  it('the NLB reaches the poolers on the pooler and health ports only, and the poolers admit only the NLB and, on the cancel peer port, each other', () => {
    const lbToPooler = rules('AWS::EC2::SecurityGroupEgress').filter((r) => JSON.stringify(r.GroupId) === JSON.stringify(sg('LoadBalancerSecurityGroup')));
    expect(lbToPooler.map((r) => [r.FromPort, r.DestinationSecurityGroupId]).sort()).toEqual([
      [5432, sg('PoolerSecurityGroup')],
      [9127, sg('PoolerSecurityGroup')],
    ]);
    const intoPooler = rules('AWS::EC2::SecurityGroupIngress').filter((r) => JSON.stringify(r.GroupId) === JSON.stringify(sg('PoolerSecurityGroup')));
    expect(intoPooler.map((r) => [r.FromPort, r.ToPort, r.SourceSecurityGroupId]).sort()).toEqual([
      [5432, 5432, sg('LoadBalancerSecurityGroup')],
      [9127, 9127, sg('LoadBalancerSecurityGroup')],
      [9128, 9128, sg('PoolerSecurityGroup')],
    ]);
  });

  it('the poolers reach each database on its port (and the database groups admit them), plus HTTPS for AWS APIs and each other’s cancel peer port', () => {
    const out = [
      ...inline('PoolerSecurityGroup', 'SecurityGroupEgress'),
      ...rules('AWS::EC2::SecurityGroupEgress').filter((r) => JSON.stringify(r.GroupId) === JSON.stringify(sg('PoolerSecurityGroup'))),
    ];
    const self = JSON.stringify(sg('PoolerSecurityGroup'));
    const to = (r: Record<string, unknown>): string => (JSON.stringify(r.DestinationSecurityGroupId) === self ? 'poolers' : String(r.CidrIp ?? r.DestinationSecurityGroupId));
    const summary = out.map((r) => `${to(r)}:${String(r.FromPort)}-${String(r.ToPort)}`).sort();
    expect(summary).toEqual(['0.0.0.0/0:443-443', '10.9.0.0/24:5432-5432', 'poolers:9128-9128', 'sg-0ddddddddddddddd1:5432-5432', 'sg-0ddddddddddddddd2:5433-5433']);
    const dbIngress = rules('AWS::EC2::SecurityGroupIngress').filter((r) => typeof r.GroupId === 'string');
    expect(dbIngress.map((r) => [r.GroupId, r.FromPort, JSON.stringify(r.SourceSecurityGroupId)]).sort()).toEqual([
      ['sg-0ddddddddddddddd1', 5432, JSON.stringify(sg('PoolerSecurityGroup'))],
      ['sg-0ddddddddddddddd2', 5433, JSON.stringify(sg('PoolerSecurityGroup'))],
    ]);
  });
});

describe('the instance role', () => {
  const statements = () => {
    const fleet = synth.stack(PoolerFleet);
    const role = fleet.node.findChild('PoolerInstanceRole').node.defaultChild as CfnElement;
    return roleStatements(t, Stack.of(role).getLogicalId(role));
  };
  const bySid = (sid: string) => statements().find((s) => s.Sid === sid);

  it('allows exactly: reading the table, writing heartbeat rows, reading parameters, decrypting, its logs, its bundle, the SSM agent, cfn-signal', () => {
    const actions = statements().flatMap(actionsOf).sort();
    expect(actions).toEqual(
      [
        'dynamodb:GetItem', 'dynamodb:Query', 'dynamodb:Scan',
        'dynamodb:PutItem', 'dynamodb:UpdateItem',
        'ssm:GetParameter', 'ssm:GetParameters', 'ssm:GetParametersByPath',
        'kms:Decrypt',
        'logs:CreateLogStream', 'logs:PutLogEvents', 'logs:DescribeLogStreams',
        's3:GetObject',
        'ssm:UpdateInstanceInformation', 'ssm:ListInstanceAssociations',
        'ssmmessages:CreateControlChannel', 'ssmmessages:CreateDataChannel', 'ssmmessages:OpenControlChannel', 'ssmmessages:OpenDataChannel',
        'ec2messages:AcknowledgeMessage', 'ec2messages:DeleteMessage', 'ec2messages:FailMessage', 'ec2messages:GetEndpoint', 'ec2messages:GetMessages', 'ec2messages:SendReply',
        'cloudformation:SignalResource',
      ].sort(),
    );
  });

  it('writes only pooler heartbeat rows (dynamodb:LeadingKeys POOLER#*)', () => {
    expect(bySid('HeartbeatWrite')?.Condition).toEqual({ 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': ['POOLER#*'] } });
  });

  it('may write every row a pooler writes: its heartbeat, its node id lease, the fleet budget leases (all under POOLER#*)', () => {
    const pattern = /^POOLER#.*$/;
    for (const key of [keys.pooler('ip-10-0-1-23-5432'), keys.nodeLease(17), keys.budgetLeases()]) expect(key.pk).toMatch(pattern);
  });

  it('decrypts only under the encryption-context condition, and only tenant passwords', () => {
    expect(bySid('KeyDecryptTenant')?.Condition).toEqual({
      'ForAllValues:StringEquals': { 'kms:EncryptionContextKeys': ['tenantId', 'clusterId'] },
      Null: { 'kms:EncryptionContextKeys': 'false', 'kms:EncryptionContext:tenantId': 'false' },
    });
  });

  it('reads its bundle object only, and signals only its own stack', () => {
    const bundle = resourcesOf(bySid('PoolerBundle') ?? { Effect: 'Allow', Action: [] }).map((r) => JSON.stringify(r));
    expect(bundle).toHaveLength(1);
    expect(bundle[0]).toMatch(/cdk-[a-z0-9]+-assets-123456789012-eu-west-1\/[0-9a-f]{64}\.zip/);
    const signal = statements().find((s) => actionsOf(s).includes('cloudformation:SignalResource'));
    expect(signal?.Resource).toEqual({ Ref: 'AWS::StackId' });
  });

  it('uses "*" only for the SSM agent actions, which have no resource-level permissions', () => {
    for (const s of statements()) if (resourcesOf(s).includes('*')) expect(s.Sid).toBe('SsmAgent');
  });
});

it('ships pooler logs to a log group of its own with the stage retention', () => {
  t.hasResourceProperties('AWS::Logs::LogGroup', { LogGroupName: '/switchyard/test/pooler', RetentionInDays: 30 });
});
