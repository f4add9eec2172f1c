/**
 * RPC calls (CONTRACT §3): the access class of a method from its leading verb, and the resource a call
 * acts on, where the conventions name one. Without them every AWS SDK and gRPC call was classless and an
 * S3 `DeleteObject` on the backups bucket was the learned `DeleteObject` on a scratch bucket (review34 E1).
 */
import type { Attributes } from '../model.js';
import { Memo } from '../collections/memo.js';
import * as A from './attributes.js';
import { str } from './read.js';
import type { Access } from './types.js';

/**
 * Leading verbs of RPC method names, lower-cased: AWS API operations (`DeleteObject`, `ListBuckets`),
 * gRPC and Connect methods (`DeleteUser`, `getUser`), snake_case ones (`delete_user`). `Batch` is skipped
 * to the verb after it (`BatchGetItem` reads). A verb not listed gives no class, as before: a guess would
 * make every unknown method look like an unexpected write.
 */
const RPC_VERBS = new Map<string, Access>();
const verbs = (a: Access, words: string): void => {
  for (const w of words.split(' ')) RPC_VERBS.set(w, a);
};
verbs('read', 'get list describe head query scan search select lookup fetch read find count check validate verify estimate simulate preview watch poll receive download');
verbs('write', 'put create update modify attach set send publish copy upload add insert upsert write patch post replace merge save register associate enable disable tag untag import restore reset rotate change complete append assign subscribe stop reboot restart cancel abort move rename');
verbs('delete', 'delete remove terminate purge detach revoke destroy drop truncate erase deregister unregister disassociate unsubscribe flush clear');
verbs('execute', 'invoke run execute exec start call trigger eval');

/**
 * SQS settles a received message by deleting it (`DeleteMessage`) or delaying it (`ChangeMessageVisibility`):
 * an acknowledgement, read like messaging `settle`, not a delete of the queue's data.
 */
const MESSAGE_ACKS = new Set(['DeleteMessage', 'DeleteMessageBatch', 'ChangeMessageVisibility', 'ChangeMessageVisibilityBatch']);

const memo = new Memo<Access | null>(1024);

const isUpper = (c: number): boolean => c >= 65 && c <= 90;
const isLower = (c: number): boolean => c >= 97 && c <= 122;

/**
 * The word of `m` starting at `i`: a capital or small letter and the small letters after it (`Delete` of
 * `DeleteObject`, `get` of `getUser`), or a run of capitals (`DELETE`); lower-cased. Empty when `m[i]` is
 * no letter.
 */
function wordAt(m: string, i: number): string {
  const c = m.charCodeAt(i);
  if (!isUpper(c) && !isLower(c)) return '';
  let j = i + 1;
  if (isUpper(c) && isUpper(m.charCodeAt(j))) while (isUpper(m.charCodeAt(j))) j++;
  else while (isLower(m.charCodeAt(j))) j++;
  return m.slice(i, j).toLowerCase();
}

/**
 * The class of an RPC method (`S3/DeleteObject`, `acme.users.v1.UserService/DeleteUser`, `DeleteObject`):
 * its name's leading verb (the part after the last `/`), `Batch` skipped. Memoised per method.
 */
export function rpcAccess(method: string): Access | null {
  const hit = memo.get(method);
  if (hit !== undefined) return hit;
  let i = method.lastIndexOf('/') + 1;
  while (i < method.length && !isUpper(method.charCodeAt(i)) && !isLower(method.charCodeAt(i))) i++;
  let w = wordAt(method, i);
  if (w === 'batch') {
    i += 5;
    while (i < method.length && (method.charCodeAt(i) === 95 || method.charCodeAt(i) === 45)) i++; // batch_get
    w = wordAt(method, i);
  }
  const a = RPC_VERBS.get(w) ?? null;
  memo.set(method, a);
  return a;
}

/**
 * The class of an AWS SDK call the messaging conventions place (SQS, SNS) and that names no messaging
 * operation: an acknowledgement reads, any other method by its verb (`PurgeQueue` deletes, `CreateQueue`
 * writes); null without `rpc.method`.
 */
export function messagingRpcAccess(method: string | null): Access | null {
  return method === null ? null : MESSAGE_ACKS.has(method) ? 'read' : rpcAccess(method);
}

/**
 * The resource an RPC call acts on, where the OpenTelemetry conventions name it: the S3 bucket, the
 * DynamoDB tables, the SQS queue URL, the SNS topic, Kinesis stream, Secrets Manager secret or Step
 * Functions state machine ARN, the invoked function (`faas.invoked_name`). Names and ARNs only, never
 * an object key, item or message: a target per object would be a new subject on every call.
 */
export function rpcResource(a: Attributes): string | null {
  return (
    str(a, A.AWS_S3_BUCKET) ??
    awsTables(a) ??
    str(a, A.AWS_SQS_QUEUE_URL) ??
    str(a, A.AWS_SNS_TOPIC_ARN) ??
    str(a, A.AWS_KINESIS_STREAM_NAME) ??
    str(a, A.AWS_SECRETSMANAGER_SECRET_ARN) ??
    str(a, A.AWS_STEPFUNCTIONS_STATE_MACHINE_ARN) ??
    str(a, A.AWS_STEPFUNCTIONS_ACTIVITY_ARN) ??
    str(a, A.FAAS_INVOKED_NAME)
  );
}

/**
 * `aws.dynamodb.table_names` (a string array; a batch names several): the names sorted and joined with
 * `,`, or null.
 */
export function awsTables(a: Attributes): string | null {
  const v = a[A.AWS_DYNAMODB_TABLE_NAMES];
  if (typeof v === 'string') return v === '' ? null : v;
  if (!Array.isArray(v) || v.length === 0) return null;
  if (v.length === 1) return typeof v[0] === 'string' && v[0] !== '' ? v[0] : null;
  return v.filter((t) => typeof t === 'string' && t !== '').sort().join(',') || null;
}
