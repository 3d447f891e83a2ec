/**
 * `agentchord init [dir] [--template offline|endpoint] [--name n]`: writes a new system (the scaffold VS Code's
 * "New System" writes, src/core/system/scaffold.ts). The offline template runs with real connection weights right
 * away (the embedded chord-retrieval model; no key, no network); the endpoint template is the starting point for
 * one's own agents on an OpenAI-compatible endpoint, attributed on a pulled surrogate.
 */
import { existsSync, mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { ENDPOINT_SURROGATE, SCAFFOLD_TEMPLATES, scaffoldSystem, type ScaffoldTemplate } from '../../core/system/scaffold';
import { CliError } from '../cliError';
import type { Command } from '../command';
import { embeddedModelDir } from '../embeddedModels';
import { parseOptions } from '../parseOptions';

const HELP = `Usage: agentchord init [dir] [--template offline|endpoint] [--name <name>]

Writes a new system into dir (default .): agentchord.yaml, prompts, data, a README. Refuses, writing nothing, when
any of those files already exists.

  --template offline   (default) three replayed reporters and an answerer on the embedded chord-retrieval model:
                       \`agentchord run\` gives real connection weights at once, with no API key and no network
  --template endpoint  researcher -> critic -> writer on an OpenAI-compatible endpoint (OPENAI_API_KEY), attributed
                       on a local surrogate named by repository id (first: agentchord model pull ${ENDPOINT_SURROGATE})
  --name <name>        the system's name (default: the folder's name)`;

export const initCommand: Command = {
  name: 'init',
  summary: 'write a new system (offline: runs at once on the embedded model; endpoint: your own agents)',
  help: HELP,
  async run(args: string[]): Promise<number> {
    const { values, positionals } = parseOptions('init', {
      args,
      allowPositionals: true,
      options: { template: { type: 'string' }, name: { type: 'string' } },
    });
    if (positionals.length > 1) throw new CliError(`init: unexpected argument '${positionals[1]}'`);
    const template = (values.template ?? 'offline') as ScaffoldTemplate;
    if (!SCAFFOLD_TEMPLATES.includes(template)) throw new CliError(`init: --template: expected ${SCAFFOLD_TEMPLATES.join(' or ')}, got '${values.template}'`);
    const dir = resolve(positionals[0] ?? '.');
    let retrievalModel: string | undefined;
    if (template === 'offline') {
      retrievalModel = embeddedModelDir('chord-retrieval');
      if (!retrievalModel) throw new CliError('init: the embedded chord-retrieval model is missing from this installation (models/chord-retrieval); use --template endpoint', 1);
    }
    const files = scaffoldSystem({ name: values.name ?? basename(dir), template, retrievalModel }).map((f) => ({ ...f, absolute: join(dir, ...f.path.split('/')) }));
    const clash = files.find((f) => existsSync(f.absolute));
    if (clash) throw new CliError(`init: ${clash.absolute} already exists; nothing was written (choose another folder)`, 1);

    // Each file through a temp name and a rename; on a failure the files written so far are taken back.
    const written: string[] = [];
    try {
      for (const f of files) {
        mkdirSync(dirname(f.absolute), { recursive: true });
        const temp = `${f.absolute}.${process.pid}.tmp`;
        writeFileSync(temp, f.content, { flag: 'wx' });
        renameSync(temp, f.absolute);
        written.push(f.absolute);
      }
    } catch (e) {
      for (const path of written) rmSync(path, { force: true });
      throw new CliError(`init: cannot write into ${dir}: ${(e as Error).message}`, 1);
    }
    const next = template === 'offline' ? 'agentchord run' : `agentchord model pull ${ENDPOINT_SURROGATE}, set OPENAI_API_KEY, then agentchord run`;
    const cd = positionals[0] ? `cd ${positionals[0]} && ` : '';
    process.stdout.write(`created a ${template} system in ${dir} (${files.length} files)\nnext: ${cd}${next}\n`);
    return 0;
  },
};
