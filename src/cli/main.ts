#!/usr/bin/env node
import { Command } from 'commander';
import { createLogger } from '../log.ts';
import { fakeSpurCommand } from './commands/fake-spur.ts';
import { generateCommand } from './commands/generate.ts';
import { importCommand, importsCommand } from './commands/import.ts';
import { listCommand, lookupCommand } from './commands/query.ts';
import { serveCommand } from './commands/serve.ts';
import { startCommand } from './commands/start.ts';
import { updateCommand } from './commands/update.ts';
import { reportError } from './run.ts';

const program = new Command('ipoid')
  .description('IPoid: IP reputation from Spur feeds, imported by diff and served over HTTP')
  .addCommand(startCommand)
  .addCommand(serveCommand)
  .addCommand(importCommand)
  .addCommand(importsCommand)
  .addCommand(updateCommand)
  .addCommand(lookupCommand)
  .addCommand(listCommand)
  .addCommand(generateCommand)
  .addCommand(fakeSpurCommand);

program.parseAsync().catch((err: unknown) => reportError(err, createLogger()));
