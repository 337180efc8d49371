/**
 * S17 (a)-(d): wss:// with --tls-cert/--tls-key on serve and --ca on the agent. A certificate
 * signed by the given CA works; without --ca (unknown CA), with a self-signed or an expired
 * certificate the agent refuses and says why; a client limited to TLS 1.1 is refused. Test
 * certificates are in test/fixtures/tls (127.0.0.1 only).
 */
import { afterAll, describe, expect, it } from 'vitest';
import { connect } from 'node:tls';
import { join } from 'node:path';
import { REPO } from '../helpers/fixtures.js';
import { killAll, startAgent, startCollector, stopProc, tempDir, waitFor } from '../helpers/procs.js';
import { query, report } from '../helpers/checker.js';

const TLS = join(REPO, 'test/fixtures/tls');
const f = (n: string): string => join(TLS, n);

describe('S17 TLS', () => {
  const tmps: { cleanup: () => void }[] = [];
  const outcomes: Record<string, string> = {};
  afterAll(() => {
    killAll();
    for (const t of tmps) t.cleanup();
    report('S17 TLS', outcomes);
  });

  const run = async (name: string, cert: string, agentArgs: string[]): Promise<{ rows: number; logs: Record<string, unknown>[] }> => {
    const tmp = tempDir('tls');
    tmps.push(tmp);
    const c = await startCollector(tmp.dir, ['--tls-cert', f(`${cert}.pem`), '--tls-key', f(`${cert}.key`)]);
    const a = startAgent({ wsUrl: `wss://127.0.0.1:${c.port}`, token: c.token }, tmp.dir, ['--host-id', 'tls-host', ...agentArgs]);
    const rows = (): number => query<{ n: number }>(c.db, 'SELECT count(*) AS n FROM snapshots')[0]?.n ?? 0;
    // Stored, or refused twice: the agent tried again (reconnect after 0.5 s) and was refused again,
    // so "nothing stored" below covers a retry, not only the first attempt.
    const refusals = (): number => a.logs().filter((l) => l['msg'] === 'tls handshake with collector failed').length;
    await waitFor(() => rows() > 0 || refusals() >= 2, `${name}: stored or refused twice`);
    const n = rows();
    const logs = a.logs();
    await stopProc(a);
    await stopProc(c);
    const err = logs.find((l) => l['msg'] === 'tls handshake with collector failed')?.['err'] as { code?: string } | undefined;
    outcomes[name] = n > 0 ? `stored ${n}` : `refused: ${err?.code ?? '?'}`;
    return { rows: n, logs };
  };

  it('(a) a certificate signed by the CA given with --ca: works', async () => {
    expect((await run('valid with --ca', 'server', ['--ca', f('ca.pem')])).rows).toBeGreaterThan(0);
  });

  it.each([
    ['(b) unknown CA (no --ca)', 'server', [] as string[], /UNABLE_TO_GET_ISSUER_CERT_LOCALLY|UNABLE_TO_VERIFY_LEAF_SIGNATURE/],
    ['(b) self-signed certificate', 'self', ['--ca', f('ca.pem')], /SELF_SIGNED/],
    ['(c) expired certificate', 'expired', ['--ca', f('ca.pem')], /CERT_HAS_EXPIRED/],
  ])('%s: the agent refuses and says why; nothing stored', async (name, cert, args, code) => {
    const r = await run(name, cert, args);
    expect(r.rows).toBe(0);
    const err = r.logs.find((l) => l['msg'] === 'tls handshake with collector failed')?.['err'] as { code?: string } | undefined;
    expect(err?.code ?? '').toMatch(code);
  });

  it('(d) a client that offers at most TLS 1.1 is refused by the collector', async () => {
    const tmp = tempDir('tls11');
    tmps.push(tmp);
    const c = await startCollector(tmp.dir, ['--tls-cert', f('server.pem'), '--tls-key', f('server.key')]);
    const result = await new Promise<string>((resolve) => {
      const s = connect({ host: '127.0.0.1', port: c.port, rejectUnauthorized: false, minVersion: 'TLSv1', maxVersion: 'TLSv1.1', ciphers: 'DEFAULT@SECLEVEL=0' });
      s.on('secureConnect', () => {
        resolve(`connected with ${s.getProtocol() ?? '?'}`);
        s.destroy();
      });
      s.on('error', (e: NodeJS.ErrnoException) => resolve(`${e.code ?? ''} ${e.message}`));
    });
    await stopProc(c);
    outcomes['(d) TLS 1.1 client'] = result;
    expect(result).not.toMatch(/^connected/);
    expect(result).toMatch(/protocol version|UNSUPPORTED_PROTOCOL|WRONG_VERSION|NO_PROTOCOLS/i);
  });
});
