// Grammar tests: vscode-tmgrammar-test over test/grammar/**/*.chord.md, one run per test file (a file is one test).
// The prompt grammar is read through package.json's `contributes.grammars` (so the contribution itself is tested);
// the Markdown, YAML and HTML grammars it embeds are VS Code's, from the tm-grammars package (the YAML one is
// TextMate's bundle, also with scope source.yaml).
// One more test proves the suite can fail: a copy of the grammar with a wrong scope name must fail it.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';

const TOOL = 'node_modules/vscode-tmgrammar-test/dist/unit.js';
const EMBEDDED = ['markdown', 'yaml', 'html', 'html-derivative'].map((n) => `node_modules/tm-grammars/grammars/${n}.json`);
/** The tool's assertion regexes backtrack badly on malformed lines: a hung run is a failed test, not a hung CI. */
const TIMEOUT_MS = 60_000;

function findTests(dir) {
  const out = [];
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) out.push(...findTests(path));
    else if (name.endsWith('.chord.md')) out.push(path);
  }
  return out.sort();
}

/** Runs the tool on one test file; `config` is the package.json whose contributes.grammars it reads. */
function runTool(file, config = 'package.json') {
  const args = [TOOL, '--config', config, ...EMBEDDED.flatMap((g) => ['-g', g]), file];
  const r = spawnSync(process.execPath, args, { encoding: 'utf8', timeout: TIMEOUT_MS });
  // Markdown names ~50 fenced-code languages; their grammars are not needed here, so drop the "not found" noise.
  const output = `${r.stdout ?? ''}${r.stderr ?? ''}`.split('\n').filter((l) => !l.startsWith('grammar not found for')).join('\n');
  return { ok: r.status === 0, output: r.error ? `${output}\n${r.error.message}` : output };
}

/** A scratch package.json + grammar whose placeholder name scope is misspelt: the placeholder tests must fail on it. */
function brokenGrammarFails(testFile) {
  const dir = mkdtempSync(join(tmpdir(), 'agentchord-grammar-'));
  try {
    const pkg = JSON.parse(readFileSync('package.json', 'utf8'));
    const entry = pkg.contributes.grammars.find((g) => g.scopeName === 'text.html.markdown.agentchord');
    const grammar = readFileSync(entry.path, 'utf8').replaceAll('variable.other.placeholder.agentchord', 'variable.other.placeholdr.agentchord');
    writeFileSync(join(dir, 'grammar.json'), grammar);
    writeFileSync(join(dir, 'package.json'), JSON.stringify({ contributes: { grammars: [{ ...entry, path: 'grammar.json' }] } }));
    return !runTool(testFile, join(dir, 'package.json')).ok;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export async function run() {
  let passed = 0;
  let failed = 0;
  const tests = findTests('test/grammar');
  if (tests.length === 0) {
    console.log('not ok no grammar tests found under test/grammar');
    return { passed, failed: 1, skipped: 0 };
  }
  for (const file of tests) {
    const { ok, output } = runTool(file);
    if (ok) {
      passed++;
      console.log(`ok ${relative('.', file)}`);
    } else {
      failed++;
      console.log(`not ok ${relative('.', file)}\n${output}`);
    }
  }
  const placeholderTest = tests.find((f) => f.endsWith('placeholders.chord.md'));
  if (placeholderTest && brokenGrammarFails(placeholderTest)) {
    passed++;
    console.log('ok a grammar with a misspelt scope fails the tests');
  } else {
    failed++;
    console.log('not ok a grammar with a misspelt scope fails the tests (the suite cannot catch a broken grammar)');
  }
  return { passed, failed, skipped: 0 };
}
