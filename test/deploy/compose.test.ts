/**
 * docker-compose.yml and the Kubernetes DaemonSet. No Docker engine or cluster runs here, so
 * the images are not built: `docker-compose config -q` validates the compose file, and both
 * files are checked for what makes the agent count the host's connections rather than its
 * container's (host network, host /proc read-only, --procfs /host/proc).
 */
import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { REPO } from '../helpers/fixtures.js';
import { haveTools } from '../helpers/tools.js';

const have = haveTools(['docker-compose'], 'docker-compose');

function compose(args: readonly string[], env: NodeJS.ProcessEnv): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync('docker-compose', ['-f', join(REPO, 'docker-compose.yml'), ...args], {
    encoding: 'utf8',
    timeout: 60_000,
    cwd: REPO,
    env: { PATH: process.env['PATH'], HOME: process.env['HOME'], ...env },
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe.skipIf(!have)('docker-compose.yml', () => {
  it('passes docker-compose config -q, and refuses to run without a token', () => {
    const ok = compose(['config', '-q'], { TCPFLEET_TOKEN: 'compose-test-token' });
    expect(ok.code, ok.stderr).toBe(0);
    const none = compose(['config', '-q'], {});
    expect(none.code).not.toBe(0);
    expect(none.stderr).toContain('TCPFLEET_TOKEN');
  });

  it('gives the collector a named volume and the agent the host network and the host /proc read-only', () => {
    const r = compose(['config'], { TCPFLEET_TOKEN: 'compose-test-token' });
    expect(r.code, r.stderr).toBe(0);
    const c = parse(r.stdout) as { services: Record<string, { network_mode?: string; volumes?: string[]; command?: string[]; build?: { dockerfile: string } }>; volumes: Record<string, unknown> };
    const collector = c.services['collector']!;
    const agent = c.services['agent']!;
    expect(Object.keys(c.volumes)).toContain('tcpfleet-db');
    expect(collector.volumes?.some((v) => v.startsWith('tcpfleet-db:/var/lib/tcpfleet'))).toBe(true);
    expect(agent.network_mode).toBe('host');
    expect(agent.volumes).toContain('/proc:/host/proc:ro');
    expect(agent.command?.join(' ')).toContain('--procfs /host/proc');
    for (const s of [collector, agent]) expect(existsSync(join(REPO, s.build!.dockerfile))).toBe(true);
  });

  it('gives the collector, which listens on 0.0.0.0 in its container, a read token file as a secret', () => {
    const r = compose(['config'], { TCPFLEET_TOKEN: 'compose-test-token' });
    expect(r.code, r.stderr).toBe(0);
    const c = parse(r.stdout) as { services: Record<string, { command?: string[]; environment?: Record<string, string>; secrets?: { source: string }[] }>; secrets: Record<string, { file: string }> };
    const collector = c.services['collector']!;
    expect(collector.command?.join(' ')).toContain('--listen 0.0.0.0:7070');
    // Compose mounts a secret at /run/secrets/<name>; the image's default points at the same file.
    expect(collector.secrets?.map((s) => s.source)).toEqual(['tcpfleet-read-tokens']);
    expect(collector.environment?.['TCPFLEET_READ_TOKEN_FILE']).toBe('/run/secrets/tcpfleet-read-tokens');
    expect(c.secrets['tcpfleet-read-tokens']?.file).toBe(join(REPO, 'read.tokens'));
    const dockerfile = readFileSync(join(REPO, 'deploy/docker/collector.Dockerfile'), 'utf8');
    expect(dockerfile).toMatch(/^ENV .*TCPFLEET_LISTEN=0\.0\.0\.0:7070 .*TCPFLEET_READ_TOKEN_FILE=\/run\/secrets\/tcpfleet-read-tokens$/m);
    // Neither the token file nor .env may end up in an image (the build copies the repository).
    const ignored = readFileSync(join(REPO, '.dockerignore'), 'utf8').split('\n');
    expect(ignored).toEqual(expect.arrayContaining(['.env', 'read.tokens', 'db.password']));
  });
});

describe.skipIf(!have)('docker-compose.yml profile postgres', () => {
  type Svc = {
    profiles?: string[];
    image?: string;
    command?: string[];
    environment?: Record<string, string>;
    secrets?: { source: string }[];
    ports?: string[];
    network_mode?: string;
    volumes?: string[];
  };
  const config = (): { services: Record<string, Svc>; secrets: Record<string, { file: string }> } => {
    const r = compose(['--profile', 'postgres', 'config'], { TCPFLEET_TOKEN: 'compose-test-token' });
    expect(r.code, r.stderr).toBe(0);
    return parse(r.stdout) as { services: Record<string, Svc>; secrets: Record<string, { file: string }> };
  };

  it('passes docker-compose --profile postgres config -q; the default profile keeps exactly the collector and the agent', () => {
    const ok = compose(['--profile', 'postgres', 'config', '-q'], { TCPFLEET_TOKEN: 'compose-test-token' });
    expect(ok.code, ok.stderr).toBe(0);
    const c = config();
    const unprofiled = Object.entries(c.services)
      .filter(([, s]) => s.profiles === undefined || s.profiles.length === 0)
      .map(([n]) => n)
      .sort();
    expect(unprofiled).toEqual(['agent', 'collector']);
    expect(c.services['collector']?.command).toEqual(['serve', '--listen', '0.0.0.0:7070', '--db', '/var/lib/tcpfleet/tcpfleet.db']);
    for (const n of ['postgres', 'collector-a', 'collector-b', 'agent-pg']) expect(c.services[n]?.profiles).toEqual(['postgres']);
  });

  it('runs postgres:15 and two collectors on it, the password from a secret file, and an agent given both collectors', () => {
    const c = config();
    const pgSvc = c.services['postgres']!;
    expect(pgSvc.image).toBe('postgres:15');
    expect(pgSvc.environment?.['POSTGRES_PASSWORD_FILE']).toBe('/run/secrets/tcpfleet-db-password');
    expect(c.secrets['tcpfleet-db-password']?.file).toBe(join(REPO, 'db.password'));
    const published: string[] = [];
    for (const n of ['collector-a', 'collector-b']) {
      const col = c.services[n]!;
      const args = col.command ?? [];
      const url = args[args.indexOf('--db') + 1] ?? '';
      expect(url).toMatch(/^postgres:\/\/tcpfleet@postgres:5432\/tcpfleet$/); // no password in the URL
      expect(col.environment?.['TCPFLEET_DB_PASSWORD_FILE']).toBe('/run/secrets/tcpfleet-db-password');
      expect(col.secrets?.map((s) => s.source).sort()).toEqual(['tcpfleet-db-password', 'tcpfleet-read-tokens']);
      const port = /^127\.0\.0\.1:(\d+):7070/.exec(col.ports?.[0] ?? '')?.[1];
      expect(port).toBeDefined();
      published.push(port!);
    }
    expect(new Set(published).size).toBe(2);
    const agent = c.services['agent-pg']!;
    expect(agent.network_mode).toBe('host');
    expect(agent.volumes).toContain('/proc:/host/proc:ro');
    const cmd = agent.command ?? [];
    expect(cmd[cmd.indexOf('--collector') + 1]).toBe(published.map((p) => `ws://127.0.0.1:${p}`).join(','));
  });
});

describe('Kubernetes DaemonSet', () => {
  it('runs the agent without privilege escalation in the host network with the host /proc read-only and --procfs /host/proc', () => {
    const ds = parse(readFileSync(join(REPO, 'deploy/kubernetes/tcpfleet-agent-daemonset.yaml'), 'utf8')) as {
      kind: string;
      spec: {
        template: {
          spec: {
            hostNetwork: boolean;
            securityContext: { runAsNonRoot: boolean };
            containers: {
              args: string[];
              securityContext: { readOnlyRootFilesystem: boolean; allowPrivilegeEscalation: boolean };
              volumeMounts: { name: string; mountPath: string; readOnly: boolean }[];
            }[];
            volumes: { name: string; hostPath?: { path: string } }[];
          };
        };
      };
    };
    expect(ds.kind).toBe('DaemonSet');
    const pod = ds.spec.template.spec;
    expect(pod.hostNetwork).toBe(true);
    // uid 0 for --namespaces' CAP_SYS_PTRACE, holding no other capability (test/deploy/namespaces-deploy.test.ts).
    expect(pod.securityContext.runAsNonRoot).toBe(false);
    const c = pod.containers[0]!;
    expect(c.args.join(' ')).toContain('--procfs /host/proc');
    expect(c.securityContext).toMatchObject({ readOnlyRootFilesystem: true, allowPrivilegeEscalation: false });
    const mount = c.volumeMounts.find((m) => m.mountPath === '/host/proc');
    expect(mount?.readOnly).toBe(true);
    expect(pod.volumes.find((v) => v.name === mount?.name)?.hostPath?.path).toBe('/proc');
  });
});
