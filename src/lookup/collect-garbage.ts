import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

/*
 * The lookup index's base is in SharedArrayBuffers (the API's thread reads it, the builder's
 * keeps it to fold patches into), and V8 does not count them as memory to collect: a base no
 * longer read stayed until some unrelated collection in both threads, and an API process that
 * answered few lookups held every base it had been given (at 10M records, RSS went from 759 MiB
 * to 2,158 MiB over four daily folds). Each thread therefore collects its garbage once it lets
 * go of a base: the builder after each result, the API's thread when a new base replaces the
 * old (a whole build, or a fold: a few times a day).
 */
setFlagsFromString('--expose-gc');
export const collectGarbage = runInNewContext('gc') as () => void;
