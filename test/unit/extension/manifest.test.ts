// The extension's manifest (package.json `contributes` and friends) must agree with the code and the files it names:
// a renamed command, view or icon otherwise only shows up as a silently missing button in VS Code.
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import { COMMANDS, INTERNAL_COMMANDS } from '../../../src/extension/commandIds';
import { repoPath } from '../repo';

interface Manifest {
  main: string;
  icon?: string;
  activationEvents: string[];
  capabilities?: { untrustedWorkspaces?: { supported: boolean | 'limited'; description?: string } };
  contributes: {
    commands: Array<{ command: string; title: string; category?: string }>;
    menus: Record<string, Array<{ command: string; when?: string }>>;
    viewsContainers: { activitybar: Array<{ id: string; title: string; icon: string }> };
    views: Record<string, Array<{ id: string; name: string }>>;
    viewsWelcome: Array<{ view: string; contents: string }>;
    yamlValidation: Array<{ fileMatch: string; url: string }>;
    walkthroughs: Array<{
      id: string;
      title: string;
      description: string;
      steps: Array<{ id: string; title: string; description: string; media: { markdown?: string; image?: string }; completionEvents?: string[] }>;
    }>;
  };
}

const manifest = JSON.parse(readFileSync(repoPath('package.json'), 'utf8')) as Manifest;
const extensionSource = readdirSync(repoPath('src', 'extension'), { recursive: true, encoding: 'utf8' })
  .filter((n) => n.endsWith('.ts'))
  .map((n) => readFileSync(repoPath('src', 'extension', n), 'utf8'))
  .join('\n');
const commandIds = manifest.contributes.commands.map((c) => c.command);
const viewIds = Object.values(manifest.contributes.views).flat().map((v) => v.id);

describe('extension manifest', () => {
  test('the contributed commands are exactly the command table\'s (extension.ts maps every id of it to a handler)', () => {
    assert.ok(commandIds.includes('agentchord.newSystem'));
    const table = Object.values(COMMANDS).filter((id) => !INTERNAL_COMMANDS.includes(id));
    assert.deepEqual([...commandIds].sort(), [...table].sort());
    for (const id of INTERNAL_COMMANDS) assert.ok(!commandIds.includes(id), `${id} is internal but contributed`);
  });

  test('menus and welcome views name declared commands and views', () => {
    for (const [menu, items] of Object.entries(manifest.contributes.menus)) {
      for (const item of items) {
        assert.ok(commandIds.includes(item.command), `menu ${menu} names unknown command ${item.command}`);
        const view = item.when?.match(/view == ([\w.]+)/)?.[1];
        if (view) assert.ok(viewIds.includes(view), `menu ${menu} names unknown view ${view}`);
      }
    }
    for (const welcome of manifest.contributes.viewsWelcome) {
      assert.ok(viewIds.includes(welcome.view), `viewsWelcome names unknown view ${welcome.view}`);
      for (const [, id] of welcome.contents.matchAll(/\(command:([\w.]+)\)/g)) assert.ok(commandIds.includes(id), `welcome button runs unknown ${id}`);
    }
    assert.match(manifest.contributes.viewsWelcome[0].contents, /\[New System\]\(command:agentchord\.newSystem\)/);
  });

  test('the Systems view lives in the AgentChord activity-bar container, and the code creates it under that id', () => {
    const container = manifest.contributes.viewsContainers.activitybar.find((c) => c.id === 'agentchord');
    assert.ok(container, 'no activity-bar container "agentchord"');
    assert.equal(container.title, 'AgentChord');
    assert.ok(existsSync(repoPath(container.icon)), `activity-bar icon ${container.icon} missing`);
    assert.deepEqual(manifest.contributes.views.agentchord.map((v) => v.id), ['agentchord.systems']);
    assert.ok(extensionSource.includes(`'agentchord.systems'`), 'src/extension does not create the agentchord.systems view');
  });

  test('the extension icon is a 128x128 PNG', () => {
    assert.ok(manifest.icon);
    const png = readFileSync(repoPath(manifest.icon));
    assert.equal(png.subarray(1, 4).toString('latin1'), 'PNG');
    assert.deepEqual([png.readUInt32BE(16), png.readUInt32BE(20)], [128, 128]);
  });

  test('YAML completion is wired to the system-file schema', () => {
    const [entry] = manifest.contributes.yamlValidation;
    assert.equal(entry.fileMatch, 'agentchord.yaml');
    const schema = JSON.parse(readFileSync(repoPath(entry.url), 'utf8')) as Record<string, unknown>;
    assert.equal(schema.type, 'object');
    assert.ok(schema.properties, 'the schema has no properties to complete');
  });

  test('activation is cheap and works in Restricted Mode', () => {
    assert.ok(manifest.activationEvents.includes('workspaceContains:**/agentchord.yaml'));
    assert.ok(manifest.activationEvents.includes('onLanguage:agentchord-prompt'));
    assert.ok(!manifest.activationEvents.includes('*'), 'activating on startup ("*") is too eager');
    assert.equal(manifest.capabilities?.untrustedWorkspaces?.supported, 'limited');
    assert.ok(manifest.capabilities?.untrustedWorkspaces?.description);
    assert.equal(manifest.main, './dist/extension.js');
  });

  test('.vscodeignore is an allow-list that keeps the bundles and the ONNX runtime', () => {
    const rules = readFileSync(repoPath('.vscodeignore'), 'utf8')
      .split('\n')
      .map((l) => l.trim())
      .filter((l) => l && !l.startsWith('#'));
    assert.equal(rules[0], '**');
    for (const keep of ['!dist/extension.js', '!package.json', '!LICENSE', '!syntaxes/**', '!schemas/**']) assert.ok(rules.includes(keep), `${keep} missing`);
    assert.ok(rules.some((r) => r.startsWith('!node_modules/onnxruntime-node/')));
    assert.ok(rules.some((r) => r.startsWith('!node_modules/onnxruntime-common/')));
  });

  test('the walkthrough: its steps run declared commands and show media files that exist and ship in the VSIX', () => {
    const [walkthrough, ...others] = manifest.contributes.walkthroughs;
    assert.equal(others.length, 0);
    assert.equal(walkthrough!.title, 'Get started with AgentChord');
    assert.deepEqual(walkthrough!.steps.map((s) => s.id), ['runDemo', 'graphAndSaliency', 'downloadModel', 'newSystem', 'importTrace']);
    const linked = (text: string) => [...text.matchAll(/\(command:([\w.]+)\)/g)].map((m) => m[1]!);
    const allowed = vscodeIgnoreAllows();
    for (const step of walkthrough!.steps) {
      for (const id of linked(step.description)) assert.ok(commandIds.includes(id), `step ${step.id} runs unknown command ${id}`);
      for (const event of step.completionEvents ?? []) {
        const id = event.replace(/^onCommand:/, '');
        assert.ok(event.startsWith('onCommand:') && commandIds.includes(id), `step ${step.id}: completion event ${event} names no declared command`);
      }
      const media = step.media.markdown ?? step.media.image;
      assert.ok(media, `step ${step.id} has no media`);
      assert.ok(existsSync(repoPath(media)), `step ${step.id}: ${media} missing`);
      assert.ok(allowed(media), `step ${step.id}: ${media} is left out of the VSIX by .vscodeignore`);
      for (const id of linked(readFileSync(repoPath(media), 'utf8'))) assert.ok(commandIds.includes(id), `${media} runs unknown command ${id}`);
    }
    // The steps the brief names, each wired to its command.
    const commandsOf = (id: string) => linked(walkthrough!.steps.find((s) => s.id === id)!.description);
    assert.deepEqual(commandsOf('runDemo'), ['agentchord.optimize']);
    assert.deepEqual(commandsOf('graphAndSaliency'), ['agentchord.openGraph', 'agentchord.showTokenSaliency']);
    assert.deepEqual(commandsOf('newSystem'), ['agentchord.newSystem']);
    assert.deepEqual(commandsOf('importTrace'), ['agentchord.importTrace']);
    // Download: the command when the extension has one; the CLI line in any case (it works without the editor).
    const download = walkthrough!.steps.find((s) => s.id === 'downloadModel')!;
    if (commandIds.includes('agentchord.downloadModel')) assert.deepEqual(linked(download.description), ['agentchord.downloadModel']);
    assert.match(download.description, /agentchord model pull Qwen\/Qwen3-0\.6B/);
    assert.match(readFileSync(repoPath(download.media.markdown!), 'utf8'), /agentchord model pull Qwen\/Qwen3-0\.6B/);
  });
});

/**
 * Whether .vscodeignore's allow-list keeps a path: the last matching rule wins, as in vsce. Hand-written glob
 * matching (`**`, `*`) because these rules use nothing else, and a test should not need a dependency for it.
 */
function vscodeIgnoreAllows(): (path: string) => boolean {
  const rules = readFileSync(repoPath('.vscodeignore'), 'utf8')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('#'))
    .map((l) => {
      const keep = l.startsWith('!');
      const glob = keep ? l.slice(1) : l;
      const escape = (text: string) => text.replace(/[.+?^${}()|[\]\\]/g, '\\$&');
      const source = glob.split('**').map((part) => part.split('*').map(escape).join('[^/]*')).join('.*');
      return { keep, re: new RegExp(`^${source}$`) };
    });
  return (path) => rules.reduce((kept, rule) => (rule.re.test(path) ? rule.keep : kept), true);
}
