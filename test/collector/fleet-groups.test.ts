/**
 * The fleet in memory (api/fleet.ts, api/fleet-groups.ts): after hosts report, report again with
 * other counts and labels, go stale and are forgotten, the running sums, the selected totals and
 * the label groups equal sums recomputed from each host's own view (Fleet.host), and a selector
 * lists exactly the hosts whose labels match.
 */
import { describe, expect, it } from 'vitest';
import { SUMMARY_KEYS, TCP_STATES, parseSelector } from '@tcpfleet/common';
import type { Selector, SsSummary, StateCounts } from '@tcpfleet/common';
import { Fleet } from '../../packages/collector/src/api/fleet.js';
import type { FleetTotal, HostView } from '../../packages/collector/src/api/fleet.js';
import { topByLabel, totalByLabel } from '../../packages/collector/src/api/fleet-groups.js';
import { rng } from '../helpers/parity.js';
import { synthSnapshot } from '../helpers/snapshots.js';

const T0 = 1_795_000_000_000;
const ENVS = ['prod', 'staging', undefined];
const ROLES = ['web', 'db', 'cache', undefined];

function labelsOf(r: () => number): Record<string, string> {
  const l: Record<string, string> = {};
  const env = ENVS[Math.floor(r() * ENVS.length)];
  const role = ROLES[Math.floor(r() * ROLES.length)];
  if (env !== undefined) l['env'] = env;
  if (role !== undefined) l['role'] = role;
  return l;
}

/** Sums over the live views given, computed field by field. */
function sumOf(views: readonly HostView[], stale: number): FleetTotal {
  const states = Object.fromEntries(TCP_STATES.map((s) => [s, 0])) as StateCounts;
  const summary = Object.fromEntries(SUMMARY_KEYS.map((s) => [s, 0])) as SsSummary;
  for (const v of views) {
    for (const s of TCP_STATES) states[s] += v.states[s];
    for (const s of SUMMARY_KEYS) summary[s] += v.summary[s];
  }
  return { hosts: views.length, stale, states, summary };
}

describe('Fleet: selections and groups equal sums of each host', () => {
  it('through reports, label changes, staleness and forgetting', () => {
    const r = rng(12);
    const fleet = new Fleet();
    const names = Array.from({ length: 40 }, (_, i) => `h-${i}`);
    const seq = new Map<string, number>();
    const report = (host: string, at: number): void => {
      const n = (seq.get(host) ?? 0) + 1;
      seq.set(host, n);
      const labels = labelsOf(r);
      fleet.apply([{ host, labels, snapshots: [{ ...synthSnapshot(host, at, n, Math.floor(r() * 1000)), labels }] }], at);
    };
    for (const h of names) report(h, T0);
    // A second round for some (other counts, other labels); some fall silent (stale at NOW).
    for (const h of names.slice(0, 25)) report(h, T0 + 40_000);
    fleet.forget('h-3', T0 + 50_000);
    fleet.forget('h-30', T0 + 50_000);
    const NOW = T0 + 45_000; // interval 10 s: hosts last heard at T0 are stale
    const views = names.map((h) => fleet.host(h, NOW)).filter((v): v is HostView => v !== null);
    expect(views).toHaveLength(38);
    const live = views.filter((v) => !v.stale);
    expect(live.length).toBeGreaterThan(10);
    expect(live.length).toBeLessThan(views.length);

    const selectors: (Selector | null)[] = [null, ...['env=prod', 'env!=prod', 'role in (web,db)', 'role notin (web)', 'env', '!role', 'env=staging,role'].map(parseSelector)];
    for (const sel of selectors) {
      const chosen = views.filter((v) => sel === null || sel.matches(v.labels));
      const name = sel?.toString() ?? '(all)';
      expect(fleet.total(NOW, sel), name).toEqual(
        sumOf(
          chosen.filter((v) => !v.stale),
          chosen.filter((v) => v.stale).length,
        ),
      );
      expect(
        fleet.hosts(NOW, sel).map((h) => h.host),
        name,
      ).toEqual(chosen.map((v) => v.host).sort());
      for (const label of ['env', 'role']) {
        const grouped = totalByLabel(fleet, label, NOW, sel);
        const values = [...new Set(chosen.map((v) => v.labels[label] ?? null))];
        expect(grouped.groups.map((g) => g.value).sort(), `${name} by ${label}`).toEqual([...values].sort());
        for (const g of grouped.groups) {
          const members = chosen.filter((v) => (v.labels[label] ?? null) === g.value);
          expect(g, `${name} by ${label} = ${g.value}`).toEqual({
            value: g.value,
            ...sumOf(
              members.filter((v) => !v.stale),
              members.filter((v) => v.stale).length,
            ),
          });
        }
        // Largest first by established, then by live hosts.
        for (let i = 1; i < grouped.groups.length; i++) {
          const [a, b] = [grouped.groups[i - 1]!, grouped.groups[i]!];
          expect(a.states.established > b.states.established || (a.states.established === b.states.established && a.hosts >= b.hosts)).toBe(true);
        }
        const top = topByLabel(fleet, label, 'time_wait', 2, NOW, sel);
        const ranked = grouped.groups.filter((g) => g.hosts > 0).sort((a, b) => b.states.time_wait - a.states.time_wait);
        expect(top.map((t) => t.value)).toEqual(ranked.slice(0, 2).map((g) => g.states.time_wait));
      }
    }
  });
});
