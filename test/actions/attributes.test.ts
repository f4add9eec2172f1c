import { describe, expect, it } from 'vitest';
import {
  ATTRIBUTE_FILTER,
  PAYLOAD_KEYS,
  attributeFilterFor,
  isPayloadKey,
} from '../../src/actions/attributes.js';
import { config } from './fixtures.js';

describe('attribute filter', () => {
  it('keeps the keys the conventions read (span and resource alike)', () => {
    for (const k of ['nhi.identity', 'service.name', 'gen_ai.operation.name', 'gen_ai.tool.name', 'url.full',
      'http.request.method', 'db.operation.name', 'rpc.method', 'messaging.system', 'nhi.scopes',
      // review34 E1: the resource an AWS SDK call acts on, and the old SQS destination.
      'aws.s3.bucket', 'aws.dynamodb.table_names', 'aws.sqs.queue.url', 'aws.sns.topic.arn', 'aws.kinesis.stream_name',
      'aws.secretsmanager.secret.arn', 'aws.stepfunctions.state_machine.arn', 'faas.invoked_name', 'messaging.destination']) {
      expect(ATTRIBUTE_FILTER.has(k), k).toBe(true);
    }
  });

  it('never keeps a payload key (CONTRACT §3 Privacy)', () => {
    for (const k of ATTRIBUTE_FILTER) expect(isPayloadKey(k), k).toBe(false);
    for (const k of PAYLOAD_KEYS) expect(ATTRIBUTE_FILTER.has(k), k).toBe(false);
    for (const k of ['llm.input_messages.0.message.content', 'llm.output_messages.1.message.role',
      'ai.prompt.messages', 'ai.response.text', 'ai.response.object', 'input.value', 'output.value',
      'gen_ai.tool.call.arguments', 'traceloop.entity.input']) {
      expect(isPayloadKey(k), k).toBe(true);
    }
  });

  it('adds the keys named by identity.chain and identity.peerGroup', () => {
    const f = attributeFilterFor(config({ identity: { chain: ['span:team.bot', 'resource:k8s.pod.name'], peerGroup: 'resource:k8s.deployment.name' } }));
    expect(f.has('team.bot')).toBe(true);
    expect(f.has('k8s.pod.name')).toBe(true);
    expect(f.has('k8s.deployment.name')).toBe(true);
    expect(f.has('url.full')).toBe(true);
  });

  it('leaves out a payload key even when the config names it', () => {
    const f = attributeFilterFor(config({ identity: { chain: ['span:input.value', 'resource:service.name'] } }));
    expect(f.has('input.value')).toBe(false);
  });
});
