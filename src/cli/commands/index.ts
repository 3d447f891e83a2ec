import type { Command } from '../command';
import { validateCommand } from './validate';
import { attributeCommand } from './attribute';
import { generateCommand } from './generate';

/** In the order `agentchord --help` lists them. */
export const commands: Command[] = [validateCommand, attributeCommand, generateCommand];
