// Review34 E1, E2, E4: spans whose access class or subject was lost, so unexpected_write never saw them.
import { describe, expect, it } from 'vitest';
import { Classifier } from '../../src/actions/classify.js';
import { config, span, SpanKind, type SpanInit } from './fixtures.js';

const classifier = new Classifier(config());
const c = (init: SpanInit) => classifier.classify(span(init));
const client = (attrs: Record<string, unknown>) => c({ kind: SpanKind.CLIENT, attrs: attrs as SpanInit['attrs'] });
/** The class the AWS SDK's call `method` gets (only its calls are classed by verb: CONTRACT §3 gives RPC none). */
const rpcAccess = (method: string) => client({ 'rpc.system': 'aws-api', 'rpc.method': method }).access;

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
  it('the verb: the part after the last `/`, PascalCase, camelCase or snake_case; gRPC calls keep no class (CONTRACT §3)', () => {
    expect(client({ 'rpc.system.name': 'grpc', 'rpc.method': 'acme.users.v1.UserService/DeleteUser' }))
      .toMatchObject({ kind: 'rpc', target: 'grpc/acme.users.v1.UserService/DeleteUser', access: null });
    expect(rpcAccess('acme.users.v1.UserService/DeleteUser')).toBe('delete');
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

describe('database: privilege and schema changes execute (E2)', () => {
  // instrumentation-pg: db.system, db.name, db.statement, db.operation (the first word); no table.
  const pg = (statement: string, operation = statement.split(' ')[0]) =>
    client({ 'db.system': 'postgresql', 'db.name': 'crm', 'db.statement': statement, 'db.operation': operation, 'net.peer.name': 'crm-db.internal' });

  it('GRANT, REVOKE, ALTER, CREATE USER/ROLE: execute on the database, whatever the operation name says', () => {
    expect(pg('GRANT ALL PRIVILEGES ON ALL TABLES IN SCHEMA public TO mallory')).toMatchObject({ target: 'postgresql/crm', access: 'execute' });
    expect(pg('ALTER ROLE support_bot WITH SUPERUSER')).toMatchObject({ target: 'postgresql/crm', access: 'execute' });
    expect(pg("CREATE USER mallory WITH PASSWORD 'x' SUPERUSER")).toMatchObject({ target: 'postgresql/crm', access: 'execute' });
    expect(pg('REVOKE ALL ON notes FROM auditor')).toMatchObject({ target: 'postgresql/crm', access: 'execute' });
    expect(pg('CREATE ROLE admin2 SUPERUSER', 'SELECT').access).toBe('execute');
    expect(pg('INSERT INTO notes VALUES ($1); GRANT ALL ON SCHEMA public TO mallory').access).toBe('execute');
    // The secret in CREATE USER … PASSWORD is a literal: never kept.
    expect(JSON.stringify(pg("CREATE USER m WITH PASSWORD 'hunter2-secret'"))).not.toContain('hunter2');
  });
  it('operation names alone: GRANT/REVOKE/ALTER/DENY execute; `create` stays a write (an Elasticsearch document, a MongoDB collection)', () => {
    const op = (system: string, operation: string) => client({ 'db.system.name': system, 'db.operation.name': operation }).access;
    expect([op('postgresql', 'GRANT'), op('postgresql', 'REVOKE'), op('postgresql', 'ALTER'), op('mssql', 'DENY')])
      .toEqual(['execute', 'execute', 'execute', 'execute']);
    expect(op('elasticsearch', 'create')).toBe('write');
  });
  it('schema statements: CREATE and ALTER execute; DROP and TRUNCATE stay deletes (CONTRACT §3)', () => {
    expect(pg('CREATE TABLE IF NOT EXISTS audit_copy AS SELECT * FROM audit').access).toBe('execute');
    expect(pg('ALTER TABLE notes ADD COLUMN x int').access).toBe('execute');
    expect(pg('DROP TABLE customers').access).toBe('delete');
    expect(pg('TRUNCATE customers').access).toBe('delete');
    expect(pg('EXPLAIN ANALYZE CREATE TABLE t2 AS SELECT 1').access).toBe('execute');
  });
});

describe('scripts and generic commands execute (E4)', () => {
  const redis = (op: string, text: string) => client({ 'db.system': 'redis', 'db.operation.name': op, 'db.query.text': text, 'server.address': 'cache.internal' }).access;
  it('Redis EVAL, EVALSHA, EVAL_RO, FCALL, FUNCTION, SCRIPT: what they do is not in the operation name', () => {
    expect(redis('EVAL', 'EVAL "return redis.call(\'FLUSHALL\')" 0')).toBe('execute');
    expect(redis('EVALSHA', 'EVALSHA ? 0')).toBe('execute');
    expect(redis('EVAL_RO', 'EVAL_RO ? 0')).toBe('execute');
    expect(redis('FCALL', 'FCALL purge 0')).toBe('execute');
    expect(redis('FUNCTION', 'FUNCTION LOAD ?')).toBe('execute');
    expect(redis('SCRIPT', 'SCRIPT LOAD ?')).toBe('execute');
    expect(redis('GET', 'GET kb:q1')).toBe('read');
  });
  it('MongoDB `command`: execute, unless the command document names a known read', () => {
    const mongo = (text?: string) => client({ 'db.system': 'mongodb', 'db.name': 'app', 'db.operation': 'command', ...(text === undefined ? {} : { 'db.statement': text }) }).access;
    expect(mongo()).toBe('execute');
    expect(mongo('{"dropDatabase":1}')).toBe('execute');
    expect(mongo('{"createUser":"?","pwd":"?","roles":"?"}')).toBe('execute');
    expect(mongo('{ "ping": 1 }')).toBe('read');
    expect(mongo('{"listCollections":1,"filter":"?"}')).toBe('read');
    // Only for MongoDB: a Redis COMMAND (introspection) is no script.
    expect(client({ 'db.system': 'redis', 'db.operation.name': 'COMMAND' }).access).toBeNull();
  });
});
