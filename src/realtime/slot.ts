/*
 * Spur publishes a realtime file every 5 minutes, named after its UTC time:
 * realtime/YYYYMMDD/HHMM.json.gz. A slot is that time, as a Date on a 5-minute boundary.
 */

export const SLOT_MS = 5 * 60_000;

/** The slot a time falls in. */
export const slotOf = (at: Date): Date => new Date(Math.floor(at.getTime() / SLOT_MS) * SLOT_MS);

/** YYYYMMDD/HHMM: the slot's file below realtime/, without the extension. */
export function slotPath(slot: Date): string {
  const iso = slot.toISOString();
  return `${iso.slice(0, 4)}${iso.slice(5, 7)}${iso.slice(8, 10)}/${iso.slice(11, 13)}${iso.slice(14, 16)}`;
}

/** The slot named by a path's YYYYMMDD/HHMM (as slotPath writes it); undefined when it names none. */
export function parseSlotPath(path: string): Date | undefined {
  const match = /(\d{4})(\d{2})(\d{2})\/(\d{2})(\d{2})(?:\.json\.gz)?$/.exec(path);
  if (!match) return undefined;
  const [, year, month, day, hour, minute] = match;
  const slot = new Date(`${year}-${month}-${day}T${hour}:${minute}:00Z`);
  return Number.isNaN(slot.getTime()) ||
    slotPath(slot) !== `${year}${month}${day}/${hour}${minute}` ||
    slotOf(slot).getTime() !== slot.getTime()
    ? undefined
    : slot;
}

/** Every slot from `first` to `last`, both included, in order. */
export function slotsBetween(first: Date, last: Date): Date[] {
  const slots: Date[] = [];
  for (let at = slotOf(first).getTime(); at <= last.getTime(); at += SLOT_MS) slots.push(new Date(at));
  return slots;
}

/** The slot after `slot`. */
export const nextSlot = (slot: Date): Date => new Date(slot.getTime() + SLOT_MS);

/** The slot as people read it: 2026-11-30T12:05Z. */
export const slotText = (slot: Date): string => `${slot.toISOString().slice(0, 16)}Z`;
