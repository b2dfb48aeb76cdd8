/** The most addresses one lookup takes: the batch routes' limit. */
export const MAX_ENTRIES = 1000;

// Anything that cannot be part of an address separates entries: whitespace, commas,
// semicolons, pipes, quotes and brackets (so "[2001:db8::1]" and "'1.2.3.4'," are addresses).
const SEPARATORS = /[\s,;|"'`<>()[\]{}]+/;

// Threat reports write addresses "defanged" so that nothing links them: 1.2.3[.]4, 2001:db8[:]:1,
// hxxp://5.6.7.8/path. They are read as the addresses they stand for.
const DEFANGED_DOT = /\[\.\]|\(\.\)|\{\.\}|\[dot\]|\(dot\)/gi;
const DEFANGED_COLON = /\[:\]/g;
// A URL stands for its host: its scheme and path go (a port is taken off below).
const URL_HOST = /\b(?:h[xt]{2}ps?|ftp):\/\/([^\s/?#]+)[^\s]*/gi;
// An IPv4 address ending a sentence, or with a port.
const IPV4_WITH_TAIL = /^(\d{1,3}(?:\.\d{1,3}){3})(?:\.|:\d{1,5})$/;
// What is left of "[2001:db8::1]:443" once its brackets separated it.
const LONE_PORT = /^:\d{1,5}$/;

/** The distinct entries of pasted text, in the order given. */
export function entriesOf(text: string): string[] {
  const refanged = text.replace(DEFANGED_DOT, '.').replace(DEFANGED_COLON, ':').replace(URL_HOST, ' $1 ');
  const entries = refanged
    .split(SEPARATORS)
    .filter((entry) => entry !== '' && !LONE_PORT.test(entry))
    .map((entry) => IPV4_WITH_TAIL.exec(entry)?.[1] ?? entry);
  return [...new Set(entries)];
}

/** The longest text the API reads as an address (its schema refuses the whole batch for a longer one). */
const MAX_ENTRY_LENGTH = 100;

/** Entries too long to be an address, listed here rather than sent (one would fail the batch). */
export function tooLong(entries: string[]): { text: string; reason: string }[] {
  return entries
    .filter((entry) => entry.length > MAX_ENTRY_LENGTH)
    .map((entry) => ({ text: entry, reason: `longer than ${MAX_ENTRY_LENGTH} characters: not an IP address` }));
}
