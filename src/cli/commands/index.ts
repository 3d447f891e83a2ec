import type { Command } from '../command';
import { initCommand } from './init';
import { validateCommand } from './validate';
import { attributeCommand } from './attribute';
import { generateCommand } from './generate';
import { runCommand } from './run';
import { evalCommand } from './eval';
import { optimizeCommand } from './optimize';
import { applyCommand } from './apply';
import { reportCommand } from './report';
import { importCommand } from './import';
import { blameCommand } from './blame';
import { compareCommand } from './compare';
import { cacheCommand } from './cache';
import { modelCommand } from './model';
import { gpuCommand } from './gpu';
import { serveCommand } from './serve';

/** In the order `agentchord --help` lists them. */
export const commands: Command[] = [initCommand, validateCommand, attributeCommand, generateCommand, runCommand, evalCommand, optimizeCommand, applyCommand, reportCommand, importCommand, blameCommand, compareCommand, cacheCommand, modelCommand, gpuCommand, serveCommand];
