import { createRequire } from 'node:module';
import type * as Commander from 'commander';

/**
 * commander, loaded as the CommonJS package it is. Imported through its ESM wrapper, Node first
 * lexes the CommonJS source for its export names and translates it, which costs every CLI start
 * 20–30 ms here (bench/RESULTS.md, "CLI start-up") — a tenth of an override command's run.
 */
const commander = createRequire(import.meta.url)('commander') as typeof Commander;

export const { Command, CommanderError, InvalidArgumentError } = commander;
export type Command = Commander.Command;
export type CommanderError = Commander.CommanderError;
