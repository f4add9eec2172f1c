/**
 * What a valid config earns a warning for, said by `serve` at start and by `check-config` before
 * deploying, each naming its key: settings that expose Vigil on a network (exposure.ts), zone
 * patterns that hosts outside the organisation can match, and client rules that leave peer groups open.
 */
import { DETECTOR_IDS } from '../../detectors/types.js';
import { VAULT_TYPES } from '../revocation/vault.js';
import { exposureWarnings } from './exposure.js';
import type { Config } from './schema.js';

export interface ConfigWarning {
  key: string;
  message: string;
}

export function configWarnings(config: Config): ConfigWarning[] {
  return [...exposureWarnings(config), ...zoneWarnings(config), ...openPeerGroupWarnings(config), ...urlTargetWarnings(config), ...deliveryWarnings(config)];
}

/**
 * Revocation and webhook settings that can never do anything (review41 L2): enforce mode with no rule; a
 * rule that sends only credential types its vault broker cannot revoke (every match not_revocable); a
 * webhook for detectors that are all disabled.
 */
function deliveryWarnings(config: Config): ConfigWarning[] {
  const out: ConfigWarning[] = [];
  const { mode, rules, brokers } = config.revocation;
  if (mode === 'enforce' && rules.length === 0) {
    out.push({ key: 'revocation.rules', message: 'is empty while revocation.mode is enforce: no alert revokes anything; add a rule (e.g. { minSeverity: critical, broker: NAME })' });
  }
  rules.forEach((rule, i) => {
    const broker = brokers.find((b) => b.name === rule.broker);
    if (broker?.type !== 'vault' || rule.credentialTypes.includes('*') || rule.credentialTypes.some((t) => VAULT_TYPES.includes(t))) return;
    out.push({
      key: `revocation.rules[${i}].credentialTypes`,
      message: `names only types broker "${broker.name}" (vault) cannot revoke (it revokes ${VAULT_TYPES.join(' and ')}): every alert this rule matches is not_revocable`,
    });
  });
  const disabled = new Set(DETECTOR_IDS.filter((d) => !config.detectors[d].enabled));
  config.webhooks.forEach((w, i) => {
    if (w.detectors.length > 0 && w.detectors.every((d) => disabled.has(d as (typeof DETECTOR_IDS)[number]))) {
      out.push({ key: `webhooks[${i}].detectors`, message: `names only disabled detectors (${w.detectors.join(', ')}): this endpoint receives nothing` });
    }
  });
  return out;
}

/**
 * A target glob written as an http(s) URL (`https://vault.internal/v1/secret/*`): an HTTP call's target
 * is `host/path`, so it matches only MCP resources named by such URIs; copied from an API's docs or a
 * span's `url.full`, it leaves the HTTP calls it was meant for unmatched (review41 H1).
 */
function urlTargetWarnings(config: Config): ConfigWarning[] {
  const out: ConfigWarning[] = [];
  const check = (key: string, glob: string | undefined) => {
    if (glob === undefined || !/^https?:\/\//i.test(glob)) return;
    const hostPath = glob.replace(/^https?:\/\/([^/:]*)(:\d+)?/i, '$1'); // HTTP targets carry no port either (review44 M3)
    out.push({ key, message: `"${glob}" matches only MCP resources named by such a URI: an HTTP call's target is host/path, so write "${hostPath}" for HTTP calls` });
  };
  config.sensitive.targets.forEach((g, i) => check(`sensitive.targets[${i}]`, g));
  config.templates.forEach((g, i) => check(`templates[${i}]`, g));
  config.catalog.forEach((e, i) => check(`catalog[${i}].target`, e.target));
  return out;
}

/**
 * A `receivers.otlp.clientIdentities` rule without `peerGroups`: its clients may claim any peer group.
 * Valid (the behaviour before peer groups could be pinned, and a Collector may serve every group), but
 * a client pinned to its own identity can then join any group: share the credentials its members
 * present without an alert (revocation/owners.ts) and be judged by, and teach, its baseline (red-team I4).
 */
function openPeerGroupWarnings(config: Config): ConfigWarning[] {
  const out: ConfigWarning[] = [];
  config.receivers.otlp.clientIdentities?.forEach((rule, i) => {
    if (rule.peerGroups !== undefined) return;
    out.push({
      key: `receivers.otlp.clientIdentities[${i}]`,
      message:
        `lists no peerGroups, so its clients may claim any peer group: they share the credentials that group's members present ` +
        `without an alert, and are judged by its baseline; list the groups they serve (peerGroups: ["support"], or ["*"] to keep any)`,
    });
  });
  return out;
}

/**
 * A zone host glob ending in `*` (`vault.*`): `*` matches dots too, so anyone who registers a domain
 * can complete it (`vault.attacker.example`), and a call there counts as going into that zone, not to
 * `external`: exfiltration reads as a write into `secrets`, and is not egress (review31 L2). CIDRs never
 * end in `*`. Valid all the same: a split-horizon resolver may make such a name safe.
 */
function zoneWarnings(config: Config): ConfigWarning[] {
  const out: ConfigWarning[] = [];
  for (const [zone, patterns] of Object.entries(config.zones)) {
    // Review41 H6: a subnet as the only description of a zone. A CIDR places a host written as an address;
    // a named host is placed by its name (the address a span says it reached is not trusted: a proxy's,
    // or forged, it would move egress into the zone: review42 H1).
    if (patterns.length > 0 && patterns.every((p) => p.includes('/'))) {
      out.push({
        key: `zones.${zone}`,
        message: `holds only CIDRs, which place only calls to hosts written as IP addresses; calls to its hosts by name (vault.prod.svc) are external unless the zone names them too (e.g. "*.vault.internal")`,
      });
    }
    patterns.forEach((p, i) => {
      const glob = p.trim();
      if (!glob.endsWith('*')) return;
      const outside = `${glob.slice(0, -1)}attacker.example`;
      out.push({
        key: `zones.${zone}[${i}]`,
        message: `"${glob}" ends in *, which any outside domain can complete (${outside} matches): calls there count as zone ${zone}, not external, so they are not egress; end it with a domain of your own (e.g. vault.internal, *.vault.internal) or use a CIDR`,
      });
    });
  }
  return out;
}
