/**
 * What a valid config earns a warning for, said by `serve` at start and by `check-config` before
 * deploying, each naming its key: settings that expose Vigil on a network (exposure.ts), and zone
 * patterns that hosts outside the organisation can match.
 */
import { exposureWarnings } from './exposure.js';
import type { Config } from './schema.js';

export interface ConfigWarning {
  key: string;
  message: string;
}

export function configWarnings(config: Config): ConfigWarning[] {
  return [...exposureWarnings(config), ...zoneWarnings(config)];
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
