/**
 * The hook through which /metrics, the dashboard and `tcpfleet watch` learn which alerts are
 * firing. The alert engine is the provider (app.ts; tests may pass their own); without one, no
 * alert is firing and every view says so.
 */
import type { ContainerIdentity } from '@tcpfleet/common';

/** One firing alert as the views show it. */
export interface FiringAlert {
  /** Rule name. */
  rule: string;
  /** Host the alert is about; null for a fleet-wide rule. */
  host: string | null;
  /** Container-scope alerts only: the host's network namespace and who holds it (null: no container known). */
  netns?: number;
  container?: ContainerIdentity | null;
  /** When its condition started (the agent's sample time of the first matching snapshot), ms since the epoch. */
  since: number;
  /** The value that crossed the threshold, when the rule has one. */
  value?: number;
  /** Severity as the rule names it (e.g. warning, critical). */
  severity?: string;
  /** One line for people. */
  summary?: string;
}

/** Returns the alerts firing now (an empty array when none). */
export type FiringAlertsProvider = () => readonly FiringAlert[];

/** Calls the provider when there is one; a throwing provider yields no alerts rather than no page. */
export function firingAlerts(provider: FiringAlertsProvider | undefined): readonly FiringAlert[] {
  if (provider === undefined) return [];
  try {
    return provider();
  } catch {
    return [];
  }
}
