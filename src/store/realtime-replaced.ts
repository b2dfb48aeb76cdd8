/**
 * For the change limit (import/limits.ts): of the records a full import updates or deletes,
 * those realtime slots wrote since the feed's last full import, which the new file replaces as
 * Spur intends. An update of such a record counts; a deletion counts only up to the records
 * slots created (slots delete nothing, so a record of the last file that the new one lacks is
 * the file's own change, merged into or not).
 */
export class RealtimeReplaced {
  #updated = 0;
  #gone = 0;

  constructor(
    /** When the last full import began (unix seconds): slots wrote records stamped later. */
    readonly since: number,
    /** Records the slots since created. */
    readonly created: number,
  ) {}

  /** A record the import updates, stamped `lastUpdated` (unix seconds). */
  updated(lastUpdated: number): void {
    if (lastUpdated > this.since) this.#updated += 1;
  }

  /** Records the import deletes that slots wrote. */
  gone(count: number): void {
    this.#gone += count;
  }

  get count(): number {
    return this.#updated + Math.min(this.#gone, this.created);
  }
}
