import { readFileSync } from 'node:fs';

/**
 * The nice value in a /proc stat file (`/proc/PID/stat`, `/proc/self/task/TID/stat`): its 19th
 * field, counted after the command name, which may itself hold spaces and ends with ") ".
 */
export const niceIn = (statPath: string): number => Number(readFileSync(statPath, 'utf8').split(') ')[1]!.split(' ')[16]);
