/**
 * The hardening tests run twice over: a fast version in `npm test` (CI) and a long one under
 * `npm run soak`, which sets IPOID_SOAK=1. Each test picks its sizes with `scaled`.
 */
export const SOAK = process.env.IPOID_SOAK === '1';

/** `fast` in `npm test`, `long` under `npm run soak`. */
export const scaled = <T>(fast: T, long: T): T => (SOAK ? long : fast);
