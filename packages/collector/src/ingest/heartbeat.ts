/**
 * One timer for every session's heartbeat. Sessions are spread over SLICES groups; one interval
 * of `everyMs / SLICES` beats one group per tick, so each session is beaten every `everyMs` (as
 * with a timer of its own) and the pings of 10,000 agents go out spread over the heartbeat, not
 * in one burst. A timer per session was a Timeout object, its closure and a place in Node's
 * timer list for each of 10,000 idle connections (docs/performance.md, collector memory).
 */

/** What the sweep beats: pings its peer, or closes it when the last ping went unanswered. */
export interface Beating {
  beat(): void;
}

/** Groups the heartbeat is cut into (one tick each). */
export const SLICES = 16;

export class HeartbeatSweep {
  readonly #everyMs: number;
  readonly #slices: Set<Beating>[] = Array.from({ length: SLICES }, () => new Set<Beating>());
  readonly #slot = new Map<Beating, number>();
  #next = 0;
  #tick = 0;
  #timer: NodeJS.Timeout | null = null;

  constructor(everyMs: number) {
    this.#everyMs = everyMs;
  }

  /**
   * Beats `b` from now on: first within one heartbeat (at its group's next tick), then every
   * heartbeat. A peer that stops answering is closed within two heartbeats.
   */
  add(b: Beating): void {
    if (this.#slot.has(b)) return;
    const i = this.#next;
    this.#next = (this.#next + 1) % SLICES;
    this.#slot.set(b, i);
    this.#slices[i]!.add(b);
    this.#timer ??= setInterval(() => this.#sweep(), Math.max(1, Math.floor(this.#everyMs / SLICES)));
    this.#timer.unref();
  }

  /** No more beats for `b` (its session closed). */
  delete(b: Beating): void {
    const i = this.#slot.get(b);
    if (i === undefined) return;
    this.#slot.delete(b);
    this.#slices[i]!.delete(b);
  }

  /** Sessions beaten. */
  get size(): number {
    return this.#slot.size;
  }

  #sweep(): void {
    const group = this.#slices[this.#tick]!;
    this.#tick = (this.#tick + 1) % SLICES;
    // A beat may close its session, whose close handler deletes it from the group: a Set may
    // lose members while iterated (those not reached yet are skipped).
    for (const b of group) b.beat();
  }

  /** Stops the timer (the server closes). */
  stop(): void {
    if (this.#timer !== null) clearInterval(this.#timer);
    this.#timer = null;
  }
}
