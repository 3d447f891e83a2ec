/** Task samples: one JSON object per line of a dataset file (`datasets.<split>` in agentchord.yaml). */
import { readFileSync, statSync } from 'node:fs';
import type { SystemConfig } from '../system/types';

export interface TaskSample {
  /** The line's `id` field (string or number), else its line number. */
  id: string;
  fields: Record<string, unknown>;
}

export type Split = 'train' | 'validation' | 'test';

/** Reads the split's JSONL file. Errors name the file (and line) at fault. */
export function loadDataset(system: SystemConfig, split: Split): TaskSample[] {
  const file = system.datasets[split];
  if (!file) throw new Error(`${system.file}: datasets.${split} is not set`);
  let text: string;
  try {
    // The type first: reading a device such as /dev/zero never ends (it ran out of memory), a folder is no dataset.
    const stat = statSync(file);
    if (!stat.isFile()) throw new Error(`${file}: the ${split} dataset is ${stat.isDirectory() ? 'a folder' : 'not a regular file'}; name a JSONL file`);
    text = readFileSync(file, 'utf8');
  } catch (err) {
    if (!(err as NodeJS.ErrnoException).code) throw err;
    throw new Error(`${file}: cannot read the ${split} dataset (${(err as NodeJS.ErrnoException).code ?? String(err)})`);
  }
  return parseDataset(file, text);
}

export function parseDataset(file: string, text: string): TaskSample[] {
  // A byte-order mark (some Windows editors write one) is not content, as in system and prompt files.
  if (text.startsWith('\uFEFF')) text = text.slice(1);
  const samples: TaskSample[] = [];
  const seen = new Map<string, number>();
  text.split('\n').forEach((line, i) => {
    const where = `${file}:${i + 1}`;
    if (line.trim() === '') return;
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch (err) {
      throw new Error(`${where}: not valid JSON (${(err as Error).message})`);
    }
    if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new Error(`${where}: a task sample must be a JSON object`);
    const fields = value as Record<string, unknown>;
    const rawId = fields.id;
    if (rawId !== undefined && typeof rawId !== 'string' && typeof rawId !== 'number') throw new Error(`${where}: field "id" must be a string or a number`);
    const id = rawId === undefined ? String(i + 1) : String(rawId);
    if (id.includes('/')) throw new Error(`${where}: field "id" must not contain '/' (it is part of call ids)`);
    const earlier = seen.get(id);
    if (earlier !== undefined) throw new Error(`${where}: id "${id}" is used again (first on line ${earlier})`);
    seen.set(id, i + 1);
    samples.push({ id, fields });
  });
  return samples;
}
