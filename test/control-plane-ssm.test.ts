// SSM config channel against moto: parameter paths, version numbers, and the reload command.
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { GetParameterCommand, ListCommandsCommand, SSMClient } from '@aws-sdk/client-ssm';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { documentClient } from '../shared/src/aws/adapters.ts';
import { SsmConfigChannel } from '../shared/src/aws/ssm-config-channel.ts';
import { parsePoolerTag } from '../shared/src/aws/env.ts';
import { createSwitchyardTable, describeWithMoto, useMoto } from './helpers/moto.ts';

const targets = (epoch: number, host: string) => ({
  writer: { host, port: 5432 },
  readers: [{ host: 'reader.internal', port: 5432 }],
  epoch,
  eventTime: '2025-01-01T00:00:00.000Z',
});

describeWithMoto('SSM config channel (moto)', () => {
  useMoto();
  let ssm: SSMClient;
  let dynamodb: DynamoDBClient;
  let channel: SsmConfigChannel;
  beforeAll(async () => {
    ssm = new SSMClient({});
    dynamodb = new DynamoDBClient({});
    await createSwitchyardTable(dynamodb, 'switchyard');
    channel = new SsmConfigChannel({ ssm, doc: documentClient(dynamodb), table: 'switchyard', stage: 'test', poolerTag: parsePoolerTag('switchyard:role=pooler') });
  });
  afterAll(() => {
    ssm?.destroy();
    dynamodb?.destroy();
  });

  it('round-trips cluster targets through /switchyard/<stage>/clusters/<id> and refuses a lower epoch', async () => {
    expect(await channel.getClusterTargets('main')).toBeUndefined();
    expect(await channel.publishClusterTargets('main', targets(2, 'writer-b'))).toBe(true);
    const raw = await ssm.send(new GetParameterCommand({ Name: '/switchyard/test/clusters/main' }));
    expect(JSON.parse(raw.Parameter?.Value ?? '')).toEqual(targets(2, 'writer-b'));
    expect(await channel.publishClusterTargets('main', targets(1, 'writer-a'))).toBe(false);
    expect(await channel.getClusterTargets('main')).toEqual(targets(2, 'writer-b'));
    await channel.deleteClusterTargets('main');
    expect(await channel.getClusterTargets('main')).toBeUndefined();
    await channel.deleteClusterTargets('main');
  });

  it('publishes unique, increasing config versions at /switchyard/<stage>/config-version', async () => {
    expect(await channel.getConfigVersion()).toBe(0);
    // One after another: DynamoDB's UpdateItem ADD is atomic, but moto's emulation of it is not
    // under concurrent requests (a duplicate number, about one run in five). The request shape
    // that makes it atomic on AWS is checked with aws-sdk-client-mock in the unit tests.
    const got: number[] = [];
    for (let i = 0; i < 3; i++) got.push(await channel.bumpConfigVersion());
    expect(got).toEqual([1, 2, 3]);
    expect(await channel.bumpConfigVersion()).toBe(4);
    const raw = await ssm.send(new GetParameterCommand({ Name: '/switchyard/test/config-version' }));
    expect(raw.Parameter?.Value).toBe('4');
    expect(await channel.getConfigVersion()).toBe(4);
  });

  it('catchUpConfigVersion publishes a version that a bump allocated but failed to publish (SSM throttled), once', async () => {
    // A channel whose PutParameter always fails, like SSM under throttling; DynamoDB works.
    const throttled = new SSMClient({});
    throttled.middlewareStack.add(
      (next, context) => async (args) => {
        if (context.commandName === 'PutParameterCommand') throw Object.assign(new Error('Rate exceeded'), { name: 'ThrottlingException' });
        return next(args);
      },
      { step: 'initialize' },
    );
    const failing = new SsmConfigChannel({ ssm: throttled, doc: documentClient(dynamodb), table: 'switchyard', stage: 'test', poolerTag: parsePoolerTag('switchyard:role=pooler') });
    try {
      const published = await channel.getConfigVersion();
      expect(await channel.catchUpConfigVersion()).toBeUndefined();
      await expect(failing.bumpConfigVersion()).rejects.toThrow(/Rate exceeded/);
      expect(await channel.getConfigVersion()).toBe(published);
      expect(await channel.catchUpConfigVersion()).toBe(published + 1);
      expect(await channel.getConfigVersion()).toBe(published + 1);
      expect(await channel.catchUpConfigVersion()).toBeUndefined();
    } finally {
      throttled.destroy();
    }
  });

  it('sends "systemctl reload switchyard" with AWS-RunShellScript to the stage’s poolers (role and stage tags)', async () => {
    const { commandId } = await channel.pushReload();
    expect(commandId).toBeTruthy();
    const listed = await ssm.send(new ListCommandsCommand({ CommandId: commandId }));
    const cmd = listed.Commands?.[0];
    expect(cmd?.DocumentName).toBe('AWS-RunShellScript');
    expect(cmd?.Parameters).toEqual({ commands: ['systemctl reload switchyard'] });
    expect(cmd?.Targets).toEqual([
      { Key: 'tag:switchyard:role', Values: ['pooler'] },
      { Key: 'tag:switchyard:stage', Values: ['test'] },
    ]);
    expect(cmd?.MaxConcurrency).toBe('100%');
  });
});
