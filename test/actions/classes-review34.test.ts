// Review34 E1: spans whose access class or subject was lost, so unexpected_write never saw them.
import { describe, expect, it } from 'vitest';
import { Classifier } from '../../src/actions/classify.js';
import { config, span, SpanKind, type SpanInit } from './fixtures.js';

const classifier = new Classifier(config());
const c = (init: SpanInit) => classifier.classify(span(init));
const client = (attrs: Record<string, unknown>) => c({ kind: SpanKind.CLIENT, attrs: attrs as SpanInit['attrs'] });
const rpcAccess = (method: string) => client({ 'rpc.system': 'grpc', 'rpc.method': method }).access;

describe('RPC: the method\'s leading verb gives the class (E1)', () => {
  // @opentelemetry/instrumentation-aws-sdk: rpc.system aws-api, rpc.service, rpc.method, aws.s3.bucket.
  const aws = (service: string, method: string, extra: Record<string, unknown> = {}) =>
    client({ 'rpc.system': 'aws-api', 'rpc.service': service, 'rpc.method': method, 'aws.region': 'eu-west-1', ...extra });

  it('AWS SDK: Get/List/Describe/Head read, Put/Create/Copy/Upload write, Delete/Terminate/Purge delete, Invoke/Start/Run execute', () => {
    const access = (service: string, method: string) => aws(service, method).access;
    expect([access('S3', 'GetObject'), access('S3', 'ListObjectsV2'), access('EC2', 'DescribeInstances'), access('S3', 'HeadObject'),
      access('DynamoDB', 'BatchGetItem')]).toEqual(['read', 'read', 'read', 'read', 'read']);
    expect([access('S3', 'PutObject'), access('IAM', 'CreateAccessKey'), access('S3', 'CopyObject'), access('S3', 'UploadPart'),
      access('IAM', 'AttachRolePolicy'), access('SNS', 'Publish')]).toEqual(['write', 'write', 'write', 'write', 'write', 'write']);
    expect([access('S3', 'DeleteObject'), access('S3', 'DeleteBucket'), access('EC2', 'TerminateInstances'), access('SQS', 'PurgeQueue'),
      access('IAM', 'DetachRolePolicy'), access('EC2', 'RevokeSecurityGroupIngress')]).toEqual(['delete', 'delete', 'delete', 'delete', 'delete', 'delete']);
    expect([access('Lambda', 'Invoke'), access('SFN', 'StartExecution'), access('EC2', 'RunInstances'), access('RDSData', 'ExecuteStatement')])
      .toEqual(['execute', 'execute', 'execute', 'execute']);
  });
  it('an unknown verb stays classless (a guess would make every such call an unexpected write)', () => {
    expect(aws('STS', 'AssumeRole').access).toBeNull();
    expect(aws('KMS', 'Decrypt').access).toBeNull();
    expect(client({ 'rpc.system': 'grpc', 'rpc.method': 'x' }).access).toBeNull();
  });
  it('gRPC and other systems: the part after the last `/`, PascalCase, camelCase or snake_case', () => {
    expect(client({ 'rpc.system.name': 'grpc', 'rpc.method': 'acme.users.v1.UserService/DeleteUser' }))
      .toMatchObject({ kind: 'rpc', target: 'grpc/acme.users.v1.UserService/DeleteUser', access: 'delete' });
    expect(client({ 'rpc.system': 'grpc', 'rpc.service': 'acme.users.v1.UserService', 'rpc.method': 'GetUser' }).access).toBe('read');
    expect(rpcAccess('getUser')).toBe('read');
    expect(rpcAccess('delete_user')).toBe('delete');
    expect(rpcAccess('batch_write_item')).toBe('write');
    expect(rpcAccess('DELETE')).toBe('delete');
    expect(rpcAccess('Batch')).toBeNull();
    expect(rpcAccess('')).toBeNull();
  });

  it('the resource is in the target: a delete in another bucket is another subject', () => {
    const scratch = aws('S3', 'DeleteObject', { 'aws.s3.bucket': 'acme-support-scratch', 'aws.s3.key': 'tmp/obj-1' });
    const backups = aws('S3', 'DeleteObject', { 'aws.s3.bucket': 'acme-prod-backups', 'aws.s3.key': 'db/2026-06-01.dump' });
    expect(scratch).toMatchObject({ kind: 'rpc', target: 'aws-api/S3/DeleteObject/acme-support-scratch', access: 'delete' });
    expect(backups.target).toBe('aws-api/S3/DeleteObject/acme-prod-backups');
    // The object key is never part of it: a target per object would be a new subject on every call.
    expect(backups.target).not.toContain('dump');
    expect(aws('IAM', 'CreateAccessKey').target).toBe('aws-api/IAM/CreateAccessKey');
  });
  it('the resource from the AWS conventions: table names, queue URL, topic, stream, secret, state machine, invoked function', () => {
    expect(aws('SecretsManager', 'GetSecretValue', { 'aws.secretsmanager.secret.arn': 'arn:aws:secretsmanager:eu-west-1:1:secret:prod/db-AbCdEf' }))
      .toMatchObject({ target: 'aws-api/SecretsManager/GetSecretValue/arn:aws:secretsmanager:eu-west-1:1:secret:prod/db-AbCdEf', access: 'read' });
    expect(aws('Kinesis', 'PutRecord', { 'aws.kinesis.stream_name': 'clicks' }).target).toBe('aws-api/Kinesis/PutRecord/clicks');
    expect(aws('SFN', 'StartExecution', { 'aws.stepfunctions.state_machine.arn': 'arn:aws:states:eu-west-1:1:stateMachine:payout' }).target)
      .toBe('aws-api/SFN/StartExecution/arn:aws:states:eu-west-1:1:stateMachine:payout');
    expect(aws('Lambda', 'Invoke', { 'faas.invoked_name': 'refund', 'faas.invoked_provider': 'aws' })).toMatchObject({ target: 'aws-api/Lambda/Invoke/refund', access: 'execute' });
    expect(aws('DynamoDB', 'ListTables').target).toBe('aws-api/DynamoDB/ListTables');
  });
});

describe('AWS SDK calls the database and messaging conventions place (E1)', () => {
  it('DynamoDB: a batch names its tables only in aws.dynamodb.table_names (sorted, joined)', () => {
    const batch = client({ 'rpc.system': 'aws-api', 'rpc.method': 'BatchWriteItem', 'db.system': 'dynamodb', 'db.operation': 'BatchWriteItem',
      'aws.dynamodb.table_names': ['Users', 'Audit'] });
    expect(batch).toMatchObject({ kind: 'db', target: 'dynamodb/Audit,Users', access: 'write' });
    // A single-table call names it in db.name, as before.
    expect(client({ 'db.system': 'dynamodb', 'db.name': 'Users', 'db.operation': 'DeleteItem', 'aws.dynamodb.table_names': ['Users'] }))
      .toMatchObject({ target: 'dynamodb/Users', access: 'delete' });
  });
  it('SQS: the queue from the old messaging.destination; a queue call by its verb, an acknowledgement reads', () => {
    const sqs = (kind: number, method: string, extra: Record<string, unknown> = {}) => c({ kind, attrs: {
      'rpc.system': 'aws-api', 'rpc.service': 'SQS', 'rpc.method': method, 'messaging.system': 'aws.sqs', 'messaging.destination_kind': 'queue',
      'messaging.destination': 'refunds', 'messaging.url': 'https://sqs.eu-west-1.amazonaws.com/1/refunds', ...extra } as SpanInit['attrs'] });
    expect(sqs(SpanKind.PRODUCER, 'SendMessage')).toMatchObject({ kind: 'messaging', target: 'aws.sqs/refunds', access: 'write' });
    expect(sqs(SpanKind.CLIENT, 'PurgeQueue').access).toBe('delete');
    expect(sqs(SpanKind.CLIENT, 'DeleteQueue').access).toBe('delete');
    expect(sqs(SpanKind.CLIENT, 'DeleteMessage').access).toBe('read');
    expect(sqs(SpanKind.CLIENT, 'ChangeMessageVisibilityBatch').access).toBe('read');
    expect(sqs(SpanKind.CLIENT, 'GetQueueAttributes').access).toBe('read');
    // messaging.operation still comes first.
    expect(sqs(SpanKind.CONSUMER, 'ReceiveMessage', { 'messaging.operation': 'receive' }).access).toBe('read');
  });
});
