// The stage's existing network, imported from the stage config, and the database hop that both
// the poolers and the provisioning functions need. Switchyard never creates a VPC: it sits next to
// the databases it fronts.
import type { Stack } from 'aws-cdk-lib';
import { CfnSecurityGroupIngress, Peer, Port, SecurityGroup, Vpc, type ISecurityGroup, type IVpc, type SubnetSelection } from 'aws-cdk-lib/aws-ec2';
import { acknowledgeWarning } from './nag.ts';
import type { StageConfig } from './settings.ts';

export interface StageNetwork {
  readonly vpc: IVpc;
  /** The stage's private subnets, one per Availability Zone. */
  readonly subnets: SubnetSelection;
}

export function importStageNetwork(stack: Stack, config: StageConfig): StageNetwork {
  const vpc = Vpc.fromVpcAttributes(stack, 'Vpc', {
    vpcId: config.vpc.id,
    availabilityZones: config.vpc.subnets.map((s) => s.availabilityZone),
    privateSubnetIds: config.vpc.subnets.map((s) => s.id),
  });
  // Imported subnets have no route table id; nothing here reads one.
  for (const subnet of vpc.privateSubnets) {
    acknowledgeWarning(subnet, '@aws-cdk/aws-ec2:noSubnetRouteTableId', 'Switchyard never reads the route tables of the imported subnets.');
  }
  return { vpc, subnets: { subnets: vpc.privateSubnets } };
}

/**
 * Lets `group` reach every configured database and nothing else besides HTTPS: an egress rule per
 * database, and on each database's own security group an ingress rule from `group` (owned by this
 * stack, so it goes away with it). HTTPS is for the AWS APIs (through NAT or VPC endpoints).
 */
export function allowDatabaseAccess(stack: Stack, group: SecurityGroup, config: StageConfig, who: string): void {
  group.addEgressRule(Peer.anyIpv4(), Port.tcp(443), 'AWS APIs over HTTPS');
  const imported = new Map<string, ISecurityGroup>();
  for (const cluster of config.clusters) {
    if (cluster.securityGroupId) {
      let dbGroup = imported.get(cluster.securityGroupId);
      if (!dbGroup) {
        dbGroup = SecurityGroup.fromSecurityGroupId(stack, `DatabaseSecurityGroup${imported.size}`, cluster.securityGroupId, { mutable: false });
        imported.set(cluster.securityGroupId, dbGroup);
      }
      group.addEgressRule(dbGroup, Port.tcp(cluster.port), `database ${cluster.id}`);
      new CfnSecurityGroupIngress(stack, `DatabaseIngress-${cluster.id}`, {
        groupId: cluster.securityGroupId,
        sourceSecurityGroupId: group.securityGroupId,
        ipProtocol: 'tcp',
        fromPort: cluster.port,
        toPort: cluster.port,
        description: `${who} to ${cluster.id}`,
      });
    }
    if (cluster.cidr) group.addEgressRule(Peer.ipv4(cluster.cidr), Port.tcp(cluster.port), `database ${cluster.id}`);
  }
}
