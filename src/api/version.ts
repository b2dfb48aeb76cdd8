import { readFileSync } from 'node:fs';

/** This IPoid's version, from package.json (two levels up from src/api and from dist/api). */
export const VERSION = (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version;
