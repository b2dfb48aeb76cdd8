/**
 * The label rows an update changes: the stored ids it drops and the ids it gains. A day's
 * update usually keeps its labels (a client count moved), so most updates change no label row.
 */
export function labelChanges(stored: readonly number[], next: readonly number[]): { removed: number[]; added: number[] } {
  return { removed: stored.filter((id) => !next.includes(id)), added: next.filter((id) => !stored.includes(id)) };
}
