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
});
