#!/usr/bin/env node
import { Command } from 'commander';
import { createLogger } from '../log.ts';
import { reportError } from './run.ts';

/*
 * Each command's module is loaded only when that command runs (help loads them all): the
 * modules behind one command, such as the API server or the feed validator, take a second
 * to load that `ipoid generate` need not spend.
 */
type Commands = () => Promise<Command[]>;
const COMMANDS: ReadonlyArray<readonly [names: readonly string[], load: Commands]> = [
  [['start'], async () => [(await import('./commands/start.ts')).startCommand]],
  [['serve'], async () => [(await import('./commands/serve.ts')).serveCommand]],
  [
    ['import', 'imports'],
    async () => {
      const { importCommand, importsCommand } = await import('./commands/import.ts');
      return [importCommand, importsCommand];
    },
  ],
  [['update'], async () => [(await import('./commands/update.ts')).updateCommand]],
  [['follow'], async () => [(await import('./commands/follow.ts')).followCommand]],
  [
    ['lookup', 'list', 'history', 'changes'],
    async () => {
      const { lookupCommand, listCommand, historyCommand, changesCommand } = await import('./commands/query.ts');
      return [lookupCommand, listCommand, historyCommand, changesCommand];
    },
  ],
  [['export'], async () => [(await import('./commands/export.ts')).exportCommand]],
  [['generate'], async () => [(await import('./commands/generate.ts')).generateCommand]],
  [['fake-spur'], async () => [(await import('./commands/fake-spur.ts')).fakeSpurCommand]],
];

async function main(): Promise<void> {
  const program = new Command('ipoid').description('IPoid: IP reputation from Spur feeds, imported by diff and served over HTTP');
  const named = COMMANDS.filter(([names]) => names.includes(process.argv[2] ?? ''));
  for (const [, load] of named.length > 0 ? named : COMMANDS) for (const command of await load()) program.addCommand(command);
  await program.parseAsync();
}

main().catch((err: unknown) => reportError(err, createLogger()));
