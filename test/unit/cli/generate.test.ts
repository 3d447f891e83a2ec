// `agentchord generate` as a process on stories260k, and the stop-aware streaming writer.
import { before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { StopAwareWriter } from '../../../src/cli/commands/generate';
import { buildCli } from '../backend/server/helpers';
import { sharedPath } from '../repo';
import { runCli } from './runCli';

const STORIES = sharedPath('models/stories260k');
const work = mkdtempSync(join(tmpdir(), 'agentchord-cli-generate-'));
let cli: string;
before(async () => {
  cli = await buildCli();
});
const run = (args: string[]) => runCli(cli, args, join(work, 'cache'));

describe('agentchord generate', { timeout: 300_000 }, () => {
  test('greedy decoding from BOS prints the reference text (llama2.c run.c)', async () => {
    const fixture = JSON.parse(readFileSync(join(STORIES, 'reference_fixture.json'), 'utf8'));
    const expected = (fixture.greedy_from_bos.text as string).replaceAll('<0x0A>', '\n');
    const { code, stdout, stderr } = await run(['generate', '--model', STORIES, '--prompt', '', '--max-tokens', String(fixture.greedy_from_bos.ids.length - 1)]);
    assert.equal(code, 0, stderr);
    assert.equal(stdout, expected + '\n');
  });

  test('--stop cuts the text before the stop string', async () => {
    const full = await run(['generate', '--model', STORIES, '--prompt', 'Once upon a time', '--max-tokens', '40']);
    const stopped = await run(['generate', '--model', STORIES, '--prompt', 'Once upon a time', '--max-tokens', '40', '--stop', 'Lily.', '--stop', 'zzz']);
    assert.equal(stopped.code, 0, stopped.stderr);
    const text = stopped.stdout.slice(0, -1);
    assert.ok(text.length > 0);
    assert.ok(!text.includes('Lily.'));
    assert.ok(full.stdout.startsWith(text + 'Lily.'), `${JSON.stringify(full.stdout)} vs ${JSON.stringify(text)}`);
  });

  test('sampling with --seed is reproducible', async () => {
    const args = ['generate', '--model', STORIES, '--prompt', 'The dog', '--max-tokens', '30', '--temperature', '1', '--top-p', '0.9', '--seed', '7'];
    const a = await run(args);
    const b = await run(args);
    assert.equal(a.code, 0, a.stderr);
    assert.ok(a.stdout.trim().length > 0);
    assert.equal(a.stdout, b.stdout);
  });

  test('--chat uses the chat template, and is an error for a model without one', async () => {
    const without = await run(['generate', '--model', STORIES, '--prompt', 'Hi', '--chat']);
    assert.equal(without.code, 2);
    assert.match(without.stderr, /--chat: the model in .*stories260k has no chat template/);

    const dir = join(work, 'chat-model');
    cpSync(STORIES, dir, { recursive: true });
    const config = JSON.parse(readFileSync(join(dir, 'tokenizer_config.json'), 'utf8'));
    config.chat_template = "{{ bos_token }}{% for m in messages %}{{ m['content'] }}{% endfor %}{% if add_generation_prompt %} Then{% endif %}";
    writeFileSync(join(dir, 'tokenizer_config.json'), JSON.stringify(config));
    const chat = await run(['generate', '--model', dir, '--prompt', 'Once upon a time', '--chat', '--max-tokens', '20']);
    const plain = await run(['generate', '--model', STORIES, '--prompt', 'Once upon a time Then', '--max-tokens', '20']);
    assert.equal(chat.code, 0, chat.stderr);
    assert.ok(chat.stdout.trim().length > 0);
    // The template adds " Then" as the generation prompt: the same continuation as the plain prompt with it.
    assert.equal(chat.stdout, plain.stdout);
  });

  test('bad option values exit 2 naming the option', async () => {
    for (const [args, message] of [
      [['--temperature=-1'], /--temperature: expected a number >= 0, got '-1'/],
      [['--max-tokens', '0'], /--max-tokens: expected a positive integer, got '0'/],
      [['--top-p', '2'], /--top-p: expected a number in \(0, 1\], got '2'/],
      [['--seed', 'x'], /--seed: expected an integer, got 'x'/],
      [['--bogus'], /Unknown option '--bogus'/],
    ] as Array<[string[], RegExp]>) {
      const r = await run(['generate', '--model', STORIES, '--prompt', 'Hi', ...args]);
      assert.equal(r.code, 2, args.join(' '));
      assert.match(r.stderr, message);
    }
    const r = await run(['generate', '--model', STORIES]);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /--prompt <text> is required/);
  });
});

describe('StopAwareWriter', { timeout: 300_000 }, () => {
  test('holds back what may start a stop string and writes the final text exactly once', () => {
    const out: string[] = [];
    const writer = new StopAwareWriter(['\n\n'], (t) => out.push(t));
    writer.push('Hello');
    writer.push(' world\n');
    assert.equal(out.join(''), 'Hello world');
    writer.push('more'); // the "\n" was not the start of "\n\n" after all
    assert.equal(out.join(''), 'Hello world\nmore');
    writer.finish('Hello world\nmore');
    assert.equal(out.join(''), 'Hello world\nmore');
  });

  test('a held-back partial stop string is dropped when the final text ends there', () => {
    const out: string[] = [];
    const writer = new StopAwareWriter(['END'], (t) => out.push(t));
    writer.push('abc E');
    writer.push('N');
    assert.equal(out.join(''), 'abc ');
    writer.finish('abc ');
    assert.equal(out.join(''), 'abc ');
    const plain: string[] = [];
    const noStop = new StopAwareWriter([], (t) => plain.push(t));
    noStop.push('a');
    noStop.push('b');
    noStop.finish('ab');
    assert.deepEqual(plain, ['a', 'b']);
  });
});
