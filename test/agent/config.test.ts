import { afterEach, describe, expect, it } from 'vitest';
import { chmodSync, writeFileSync } from 'node:fs';
import { loadAgentConfig } from '../../packages/agent/src/config.js';
import { tempDir } from '../helpers/procs.js';

const dirs: { cleanup: () => void }[] = [];
afterEach(() => dirs.splice(0).forEach((d) => d.cleanup()));
function dir(): string {
  const t = tempDir('cfg');
  dirs.push(t);
  return t.dir;
}
const errorOf = (fn: () => unknown): string => {
  try {
    fn();
  } catch (err) {
    return `${(err as { code: string }).code}: ${(err as Error).message}`;
  }
  return 'no error';
};

describe('agent config precedence: flags > env > file > defaults', () => {
  it('takes each value from the highest source that sets it', () => {
    const d = dir();
    writeFileSync(`${d}/c.json`, JSON.stringify({ interval: 30, hostId: 'from-file', top: 5, labels: { a: 'file', b: 'file' } }));
    const cfg = loadAgentConfig({ config: `${d}/c.json`, interval: 2, label: ['a=flag'] }, { TCPFLEET_HOST_ID: 'from-env', TCPFLEET_INTERVAL: '7' }, false);
    expect(cfg.interval).toBe(2);
    expect(cfg.hostId).toBe('from-env');
    expect(cfg.top).toBe(5);
    expect(cfg.labels).toEqual({ a: 'flag', b: 'file' });
    expect(cfg.procfs).toBe('/proc');
    expect(Object.isFrozen(cfg)).toBe(true);
  });

  it('--namespaces from the config key, TCPFLEET_NAMESPACES=1 or the flag; its limits and directories with defaults', () => {
    const d = dir();
    expect(loadAgentConfig({}, {}, false)).toMatchObject({ namespaces: false, maxNamespaces: 512, kubeLogDir: '/var/log/containers', dockerDir: '/var/lib/docker' });
    writeFileSync(`${d}/c.json`, JSON.stringify({ namespaces: true, maxNamespaces: 8, kubeLogDir: '/k', dockerDir: '/d' }));
    expect(loadAgentConfig({ config: `${d}/c.json` }, {}, false)).toMatchObject({ namespaces: true, maxNamespaces: 8, kubeLogDir: '/k', dockerDir: '/d' });
    expect(loadAgentConfig({ config: `${d}/c.json` }, { TCPFLEET_NAMESPACES: '0' }, false).namespaces).toBe(false);
    for (const v of ['1', 'true', 'yes']) expect(loadAgentConfig({}, { TCPFLEET_NAMESPACES: v }, false).namespaces).toBe(true);
    expect(loadAgentConfig({ namespaces: true }, { TCPFLEET_NAMESPACES: '0' }, false).namespaces).toBe(true);
    expect(errorOf(() => loadAgentConfig({}, { TCPFLEET_NAMESPACES: 'maybe' }, false))).toMatch(/TCPFLEET_ERR_CONFIG: environment variable TCPFLEET_NAMESPACES: .*expected boolean/);
    expect(errorOf(() => loadAgentConfig({ maxNamespaces: 0 }, {}, false))).toMatch(/flag --max-namespaces: .*>=1 \(got 0\)/);
  });

  it('--walk-source auto|netlink|proc from the config key, TCPFLEET_WALK_SOURCE or the flag; another value is refused by name', () => {
    const d = dir();
    expect(loadAgentConfig({}, {}, false).walkSource).toBe('auto');
    writeFileSync(`${d}/c.json`, JSON.stringify({ walkSource: 'proc' }));
    expect(loadAgentConfig({ config: `${d}/c.json` }, {}, false).walkSource).toBe('proc');
    expect(loadAgentConfig({ config: `${d}/c.json` }, { TCPFLEET_WALK_SOURCE: 'netlink' }, false).walkSource).toBe('netlink');
    expect(loadAgentConfig({ walkSource: 'auto' }, { TCPFLEET_WALK_SOURCE: 'netlink' }, false).walkSource).toBe('auto');
    expect(errorOf(() => loadAgentConfig({}, { TCPFLEET_WALK_SOURCE: 'ebpf' }, false))).toMatch(/TCPFLEET_ERR_CONFIG: environment variable TCPFLEET_WALK_SOURCE: /);
    expect(errorOf(() => loadAgentConfig({ walkSource: 'NETLINK' }, {}, false))).toMatch(/flag --walk-source: /);
  });

  it('refuses an unknown key in the config file, naming it', () => {
    const d = dir();
    writeFileSync(`${d}/c.json`, JSON.stringify({ intervall: 3 }));
    expect(errorOf(() => loadAgentConfig({ config: `${d}/c.json` }, {}, false))).toMatch(/TCPFLEET_ERR_CONFIG: .*unknown key "intervall"/);
  });

  it('lists every problem at once', () => {
    const msg = errorOf(() => loadAgentConfig({ interval: 0, top: 500, collector: 'http://x' }, {}, true));
    expect(msg).toContain('interval: at least 0.1 seconds');
    expect(msg).toContain('top: at most 100');
    expect(msg).toContain('collector: a ws:// or wss:// URL');
  });

  it('takes several collectors: a comma list (flag, variable, file) or an array (file); a bad one is named', () => {
    const d = dir();
    expect(loadAgentConfig({ collector: 'ws://a:7070, wss://b:7070/x' }, {}, false).collector).toEqual(['ws://a:7070', 'wss://b:7070/x']);
    expect(loadAgentConfig({}, { TCPFLEET_COLLECTOR: 'ws://a:1,ws://b:2' }, false).collector).toEqual(['ws://a:1', 'ws://b:2']);
    writeFileSync(`${d}/c.json`, JSON.stringify({ collector: ['ws://a:1', 'ws://b:2', 'ws://c:3'] }));
    expect(loadAgentConfig({ config: `${d}/c.json` }, {}, false).collector).toEqual(['ws://a:1', 'ws://b:2', 'ws://c:3']);
    expect(errorOf(() => loadAgentConfig({ collector: 'ws://a:7070,http://b:7070' }, {}, true))).toBe(
      'TCPFLEET_ERR_CONFIG: flag --collector: collector 2 of 2, "http://b:7070": not a ws:// or wss:// URL such as ws://collector:7070 (got "ws://a:7070,http://b:7070")',
    );
    writeFileSync(`${d}/bad.json`, JSON.stringify({ collector: ['ws://a:1', 'ws:/b'] }));
    expect(errorOf(() => loadAgentConfig({ config: `${d}/bad.json` }, {}, false))).toBe(
      `TCPFLEET_ERR_CONFIG: config file ${d}/bad.json: collector.1: "ws:/b": not a ws:// or wss:// URL such as ws://collector:7070`,
    );
    expect(errorOf(() => loadAgentConfig({}, { TCPFLEET_COLLECTOR: 'ws://a:1,ws://a:1' }, false))).toContain('TCPFLEET_COLLECTOR: collector 2 of 2, "ws://a:1": listed twice');
  });

  it('needs a collector and a token to run, not for --once', () => {
    expect(errorOf(() => loadAgentConfig({}, {}, true))).toContain('no collector');
    expect(errorOf(() => loadAgentConfig({ collector: 'ws://127.0.0.1:7070' }, {}, true))).toContain('no token');
    expect(loadAgentConfig({}, {}, false).collector).toBeUndefined();
  });

  it('reads the token from a file, warns when others can read it, and never keeps `token` itself', () => {
    const d = dir();
    writeFileSync(`${d}/t`, 'sekrit\n');
    chmodSync(`${d}/t`, 0o644);
    const warnings: string[] = [];
    const cfg = loadAgentConfig({ collector: 'ws://127.0.0.1:7070', tokenFile: `${d}/t` }, {}, true, (w) => warnings.push(w));
    expect(cfg.tokenValue).toBe('sekrit');
    expect(warnings[0]).toMatch(/mode 644: others can read it; chmod 600 it/);
    expect(JSON.stringify(cfg)).not.toContain('"token"');
  });

  it('refuses a malformed label and a bad host id', () => {
    expect(errorOf(() => loadAgentConfig({ label: ['novalue'] }, {}, false))).toContain('label "novalue" is not key=value');
    expect(errorOf(() => loadAgentConfig({ hostId: 'a b' }, {}, false))).toContain('flag --host-id: host id: letters, digits');
  });
});
