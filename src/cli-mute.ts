/**
 * `vigil mute IDENTITY DETECTOR [SUBJECT] --for DURATION --reason TEXT [--max-severity S]`, `vigil mutes [IDENTITY] [--all]`
 * and `vigil unmute MUTE_ID`, through the running daemon's API (cli-api.ts, api/mutes.ts): for a while, an
 * identity's findings of one detector (one subject, or all) raise no alert.
 */
import { parseArgs } from 'node:util';
import { daemonApi } from './cli-api.js';
import { SEVERITIES } from './config/fields.js';
import type { Config } from './config/schema.js';
import { UserError } from './errors.js';

const USAGE =
  'usage: vigil mute IDENTITY DETECTOR [SUBJECT] --for DURATION --reason TEXT [--max-severity low|medium|high|critical] (SUBJECT: the alert\'s evidence.subject; DURATION at most 7d; a finding more severe than --max-severity, high by default, is raised) | vigil mutes [IDENTITY] [--all] | vigil unmute MUTE_ID';

export async function muteCommand(command: 'mute' | 'mutes' | 'unmute', args: string[], load: (path: string | undefined) => Config): Promise<void> {
  const { values, positionals } = parseArgs({
    args,
    options: { config: { type: 'string' }, for: { type: 'string' }, reason: { type: 'string' }, 'max-severity': { type: 'string' }, all: { type: 'boolean', default: false } },
    allowPositionals: true,
    strict: true,
  });
  if (command === 'mute' && (positionals.length === 2 || positionals.length === 3) && values.for !== undefined && values.reason !== undefined) {
    const [identity, detector, subject] = positionals;
    const maxSeverity = values['max-severity'];
    if (maxSeverity !== undefined && !(SEVERITIES as readonly string[]).includes(maxSeverity)) {
      throw new UserError(`--max-severity: must be one of ${SEVERITIES.join(', ')} (the most severe finding the mute swallows; high if left out)`);
    }
    return daemonApi(load(values.config))('POST', `/v1/identities/${encodeURIComponent(identity)}/mute`, {
      detector,
      subject,
      maxSeverity,
      for: values.for,
      reason: values.reason,
    });
  }
  if (command === 'mutes' && positionals.length <= 1) {
    const query = new URLSearchParams();
    if (positionals.length === 1) query.set('identity', positionals[0]);
    if (values.all) query.set('all', 'true');
    const q = query.toString();
    return daemonApi(load(values.config))('GET', `/v1/mutes${q ? `?${q}` : ''}`);
  }
  if (command === 'unmute' && positionals.length === 1) return daemonApi(load(values.config))('POST', `/v1/mutes/${encodeURIComponent(positionals[0])}/end`);
  throw new UserError(USAGE);
}
