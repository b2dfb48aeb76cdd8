/** The most addresses one lookup takes: the batch routes' limit. */
export const MAX_ENTRIES = 1000;

// Anything that cannot be part of an address separates entries: whitespace, commas,
// semicolons, pipes, quotes and brackets (so "[2001:db8::1]" and "'1.2.3.4'," are addresses).
const SEPARATORS = /[\s,;|"'`<>()[\]{}]+/;

/** The distinct entries of pasted text, in the order given. */
export function entriesOf(text: string): string[] {
  return [...new Set(text.split(SEPARATORS).filter((entry) => entry !== ''))];
}

/** The longest text the API reads as an address (its schema refuses the whole batch for a longer one). */
const MAX_ENTRY_LENGTH = 100;

/** Entries too long to be an address, listed here rather than sent (one would fail the batch). */
export function tooLong(entries: string[]): { text: string; reason: string }[] {
  return entries
    .filter((entry) => entry.length > MAX_ENTRY_LENGTH)
    .map((entry) => ({ text: entry, reason: `longer than ${MAX_ENTRY_LENGTH} characters: not an IP address` }));
}
