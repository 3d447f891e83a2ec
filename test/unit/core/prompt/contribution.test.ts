import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { repoPath } from '../../repo';

const readJson = (path: string) => JSON.parse(readFileSync(repoPath(path), 'utf8'));

interface LanguageContribution {
  id: string;
  aliases?: string[];
  extensions?: string[];
  configuration?: string;
}
interface GrammarContribution {
  language?: string;
  scopeName: string;
  path: string;
  embeddedLanguages?: Record<string, string>;
}

describe('prompt language contribution (package.json)', () => {
  const pkg = readJson('package.json');
  const languages: LanguageContribution[] = pkg.contributes.languages;
  const grammars: GrammarContribution[] = pkg.contributes.grammars;
  const language = languages.find((l) => l.id === 'agentchord-prompt');

  test('the language claims *.chord.md and none of the ids or extensions VS Code owns', () => {
    assert.ok(language, 'agentchord-prompt is contributed');
    assert.deepEqual(language.extensions, ['.chord.md']);
    assert.deepEqual(language.aliases, ['AgentChord Prompt']);
    const owned = ['prompt', 'instructions', 'chatagent', 'skill'];
    for (const l of languages) assert.ok(!owned.includes(l.id), `language id ${l.id} belongs to VS Code`);
    const claimed = languages.flatMap((l) => l.extensions ?? []);
    for (const ext of ['.prompt.md', '.agent.md', '.instructions.md', '.md']) assert.ok(!claimed.includes(ext), ext);
  });

  test('the grammar file exists and declares the contributed scope name', () => {
    const grammar = grammars.find((g) => g.language === 'agentchord-prompt');
    assert.ok(grammar);
    assert.equal(grammar.scopeName, 'text.html.markdown.agentchord');
    assert.ok(existsSync(repoPath(grammar.path)), grammar.path);
    assert.equal(readJson(grammar.path).scopeName, grammar.scopeName);
    assert.equal(grammar.embeddedLanguages?.['meta.embedded.block.frontmatter'], 'yaml');
    assert.equal(grammar.embeddedLanguages?.['meta.embedded.block.markdown'], 'markdown');
  });

  test('every file a grammar includes by scope is either in the grammar itself or a scope VS Code ships', () => {
    const grammar = readJson('syntaxes/agentchord-prompt.tmLanguage.json');
    const includes = [...JSON.stringify(grammar).matchAll(/"include":"([^"#$][^"]*)"/g)].map((m) => m[1].split('#')[0]);
    assert.deepEqual([...new Set(includes)].sort(), ['source.yaml', 'text.html.markdown']);
  });
});

describe('prompt language configuration', () => {
  const config = readJson('syntaxes/language-configuration.json');

  test('HTML comments, and auto-closing for {{ and the frozen tag', () => {
    assert.deepEqual(config.comments.blockComment, ['<!--', '-->']);
    const pairs = config.autoClosingPairs.map((p: { open: string; close: string }) => [p.open, p.close]);
    for (const pair of [['{{', '}}'], ['{', '}'], ['<DONT_CHANGE>', '</DONT_CHANGE>']]) {
      assert.ok(pairs.some(([open, close]: string[]) => open === pair[0] && close === pair[1]), pair[0]);
    }
  });

  test('folding markers fold a multi-line frozen region and #region comments, not a one-line region', () => {
    const start = new RegExp(config.folding.markers.start);
    const end = new RegExp(config.folding.markers.end);
    assert.ok(start.test('<DONT_CHANGE>'));
    assert.ok(start.test('  <DONT_CHANGE> text continues below'));
    assert.ok(!start.test('<DONT_CHANGE>one line</DONT_CHANGE>'));
    assert.ok(!start.test('text <DONT_CHANGE>'), 'only a line that starts with the tag opens a fold');
    assert.ok(end.test('</DONT_CHANGE>'));
    assert.ok(end.test('last frozen words</DONT_CHANGE>'));
    assert.ok(!end.test('<DONT_CHANGE>one line</DONT_CHANGE>'));
    assert.ok(start.test('<!-- #region examples -->') && end.test('<!-- #endregion -->'));
  });
});
