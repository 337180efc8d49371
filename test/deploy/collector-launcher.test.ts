/**
 * The collector's V8 flags (docs/performance.md, collector memory): the launcher's #! line gives
 * them, the systemd unit and the Dockerfile pass the same ones, and node accepts them (the
 * launcher runs as a program, through its #! line).
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO } from '../helpers/fixtures.js';
import { COLLECTOR_BIN } from '../helpers/procs.js';

const FLAGS = ['--max-semi-space-size=4', '--heap-growing-percent=50'];

describe('collector launcher', () => {
  it('runs node with the memory flags, as the systemd unit and the image do', () => {
    const shebang = readFileSync(COLLECTOR_BIN, 'utf8').split('\n')[0]!;
    expect(shebang).toBe(`#!/usr/bin/env -S node ${FLAGS.join(' ')}`);
    const unit = readFileSync(join(REPO, 'deploy/systemd/tcpfleet-collector.service'), 'utf8');
    expect(unit).toMatch(new RegExp(`^ExecStart=/usr/bin/node ${FLAGS.join(' ')} /opt/tcpfleet/packages/collector/bin/tcpfleet\\.js serve$`, 'm'));
    const dockerfile = readFileSync(join(REPO, 'deploy/docker/collector.Dockerfile'), 'utf8');
    expect(dockerfile).toContain(`ENTRYPOINT ["node", ${FLAGS.map((f) => JSON.stringify(f)).join(', ')}, "/opt/tcpfleet/packages/collector/bin/tcpfleet.js"]`);
    // Through the #! line: node accepts the flags and the command runs.
    const r = spawnSync(COLLECTOR_BIN, ['--version'], { encoding: 'utf8', timeout: 30_000 });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(r.stdout.trim()).toMatch(/^\d+\.\d+\.\d+/);
  });
});
