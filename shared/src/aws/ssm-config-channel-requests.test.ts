import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { GetParameterCommand, ParameterNotFound, PutParameterCommand, SendCommandCommand, SSMClient } from '@aws-sdk/client-ssm';
import { UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { documentClient } from './adapters.ts';
import { SsmConfigChannel } from './ssm-config-channel.ts';

describe('SSM config channel requests', () => {
  const cfg = { region: 'us-east-1', credentials: { accessKeyId: 'x', secretAccessKey: 'x' } };
  const ssm = new SSMClient(cfg);
  const doc = documentClient(new DynamoDBClient(cfg));
  const ssmMock = mockClient(ssm);
  const docMock = mockClient(doc);
  const channel = new SsmConfigChannel({ ssm, doc, table: 'tbl', stage: 'prod', poolerTag: { key: 'switchyard:role', value: 'pooler' } });
  beforeEach(() => {
    ssmMock.reset();
    docMock.reset();
  });

  it('targets every pooler of the stage (role tag and stage tag), all at once, with the reload command', async () => {
    ssmMock.on(SendCommandCommand).resolves({ Command: { CommandId: 'cmd-1' } });
    expect(await channel.pushReload()).toEqual({ commandId: 'cmd-1' });
    expect(ssmMock.commandCalls(SendCommandCommand)[0]?.args[0].input).toMatchObject({
      DocumentName: 'AWS-RunShellScript',
      Parameters: { commands: ['systemctl reload switchyard'] },
      Targets: [
        { Key: 'tag:switchyard:role', Values: ['pooler'] },
        { Key: 'tag:switchyard:stage', Values: ['prod'] },
      ],
      MaxConcurrency: '100%',
      MaxErrors: '100%',
    });
  });

  it('allocates the version from the atomic counter, then overwrites the parameter', async () => {
    docMock.on(UpdateCommand).resolves({ Attributes: { n: 42 } });
    ssmMock.on(PutParameterCommand).resolves({ Version: 1 });
    expect(await channel.bumpConfigVersion()).toBe(42);
    const upd = docMock.commandCalls(UpdateCommand)[0]?.args[0].input;
    expect(upd?.Key).toEqual({ pk: 'CONFIG#version', sk: 'CONFIG' });
    expect(upd?.UpdateExpression).toContain('ADD #n :one');
    expect(ssmMock.commandCalls(PutParameterCommand)[0]?.args[0].input).toMatchObject({
      Name: '/switchyard/prod/config-version',
      Value: '42',
      Type: 'String',
      Overwrite: true,
    });
  });

  it('reads a missing parameter as version 0 / no targets', async () => {
    ssmMock.on(GetParameterCommand).rejects(new ParameterNotFound({ message: 'nope', $metadata: {} }));
    expect(await channel.getConfigVersion()).toBe(0);
    expect(await channel.getClusterTargets('main')).toBeUndefined();
    expect(ssmMock.commandCalls(GetParameterCommand).map((c) => c.args[0].input.Name)).toEqual([
      '/switchyard/prod/config-version',
      '/switchyard/prod/clusters/main',
    ]);
  });
});
