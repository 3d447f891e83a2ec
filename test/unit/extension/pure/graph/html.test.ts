import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { buildGraphHtml, contentSecurityPolicy, newNonce } from '../../../../../src/extension/pure/graph/html';
import { repoPath } from '../../../repo';

const CSP_SOURCE = 'https://file+.vscode-resource.vscode-cdn.net';
const input = {
  cspSource: CSP_SOURCE,
  nonce: 'bm9uY2Utbm9uY2Utbm9uY2U=',
  scriptUri: `${CSP_SOURCE}/ext/dist/webview.js`,
  styleUri: `${CSP_SOURCE}/ext/dist/webview.css`,
  title: 'AgentChord <Graph>',
};
const html = buildGraphHtml(input);
const cspOf = (text: string) => /<meta http-equiv="Content-Security-Policy" content="([^"]*)">/.exec(text)?.[1]?.replace(/&#39;/g, "'");

describe('graph panel HTML', () => {
  test('has a strict CSP: nothing by default, scripts only with the nonce, styles only from the extension', () => {
    const csp = cspOf(html);
    assert.ok(csp, 'no CSP meta tag');
    const directives = Object.fromEntries(csp.split(';').map((d) => d.trim().split(/\s+/)).map(([k, ...v]) => [k, v]));
    assert.deepEqual(directives['default-src'], ["'none'"]);
    assert.deepEqual(directives['script-src'], [`'nonce-${input.nonce}'`]);
    assert.deepEqual(directives['style-src'], [CSP_SOURCE, `'nonce-${input.nonce}'`]);
    assert.doesNotMatch(csp, /unsafe-inline|unsafe-eval|\*|https?:\/\/(?!file\+\.vscode-resource)/);
  });

  test('the one script and the stylesheet carry the nonce; no inline script or handler', () => {
    const scripts = [...html.matchAll(/<script\b([^>]*)>([\s\S]*?)<\/script>/g)];
    assert.equal(scripts.length, 1);
    assert.match(scripts[0]![1]!, new RegExp(`nonce="${input.nonce}"`));
    assert.match(scripts[0]![1]!, /src="[^"]+webview\.js"/);
    assert.equal(scripts[0]![2]!.trim(), '', 'inline script');
    assert.match(html, new RegExp(`<link rel="stylesheet" nonce="${input.nonce}" href="[^"]+webview\\.css">`));
    assert.doesNotMatch(html, /\son[a-z]+\s*=/i, 'inline event handler');
    assert.doesNotMatch(html, /\sstyle\s*=/i, 'inline style attribute');
    assert.doesNotMatch(html, /javascript:/i);
  });

  test('no remote resources: every URL is the webview resource origin', () => {
    for (const [, url] of html.matchAll(/(?:src|href)="([^"]*)"/g)) assert.ok(url!.startsWith(CSP_SOURCE), url);
    const withoutOwnOrigin = html.split(CSP_SOURCE).join('');
    assert.doesNotMatch(withoutOwnOrigin, /https?:\/\/|\/\/[a-z0-9.-]+\.[a-z]{2,}\//i);
  });

  test('text is escaped; nonces are fresh 128-bit values', () => {
    assert.match(html, /<title>AgentChord &lt;Graph&gt;<\/title>/);
    const nonces = new Set(Array.from({ length: 20 }, newNonce));
    assert.equal(nonces.size, 20);
    for (const n of nonces) assert.equal(Buffer.from(n, 'base64').length, 16);
    assert.match(contentSecurityPolicy('x', 'n'), /script-src 'nonce-n'/);
  });

  test('the webview code never builds HTML from strings or inline styles (the CSP would block them, and it is how XSS gets in)', () => {
    const dir = repoPath('webview');
    const sources = readdirSync(dir).filter((n) => n.endsWith('.ts'));
    assert.ok(sources.includes('main.ts'));
    for (const name of sources) {
      const text = readFileSync(`${dir}/${name}`, 'utf8');
      assert.doesNotMatch(text, /\.innerHTML|\.outerHTML|insertAdjacentHTML|document\.write/, `${name} writes HTML`);
      assert.doesNotMatch(text, /setAttribute\(\s*['"](style|on[a-z]+)['"]/, `${name} sets an inline style or handler`);
    }
  });
});
