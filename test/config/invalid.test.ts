/**
 * One file per error message the config loader can produce: each `invalid/*.yaml` starts with
 * `# expect: <the exact problem line>`. Adding a case is adding a file.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/config/load.js';

const folder = join(import.meta.dirname, 'invalid');
const files = readdirSync(folder).filter((f) => f.endsWith('.yaml')).sort();

describe('invalid configurations', () => {
  it('has cases', () => {
    expect(files.length).toBeGreaterThan(30);
  });

  it.each(files)('%s', (file) => {
    const path = join(folder, file);
    const first = readFileSync(path, 'utf8').split('\n', 1)[0];
    const match = /^# expect: (.+)$/.exec(first);
    expect(match, `${file} must start with "# expect: <message>"`).not.toBeNull();

    let error: unknown;
    try {
      loadConfig({ path, env: {} });
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const configError = error as ConfigError;
    expect(configError.code).toBe('VIGIL_ERR_CONFIG');
    expect(configError.problems).toContain(match![1]);
  });
});
