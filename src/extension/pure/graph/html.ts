/**
 * The graph panel's HTML, as a pure function so its security properties are unit-tested: a strict Content Security
 * Policy (nothing by default; the one bundled script only with this load's nonce; styles only from the extension's
 * own files; no remote anything), no inline script or event handler, and theme colours from VS Code's --vscode-*
 * CSS variables (in webview/graph.css).
 */
import { randomBytes } from 'node:crypto';

export interface GraphHtmlInput {
  /** `webview.cspSource`: the origin the webview serves the extension's local resources from. */
  cspSource: string;
  /** Fresh per load: a script without it does not run. */
  nonce: string;
  /** `webview.asWebviewUri(...)` of dist/webview.js and dist/webview.css. */
  scriptUri: string;
  styleUri: string;
  title: string;
}

/** 128 random bits, base64: what CSP nonces need to be unguessable. */
export function newNonce(): string {
  return randomBytes(16).toString('base64');
}

export function contentSecurityPolicy(cspSource: string, nonce: string): string {
  return [
    "default-src 'none'",
    `script-src 'nonce-${nonce}'`,
    // The web components style themselves with constructed style sheets, which CSP does not govern.
    `style-src ${cspSource} 'nonce-${nonce}'`,
    `font-src ${cspSource}`,
    `img-src ${cspSource} data:`,
  ].join('; ');
}

export function buildGraphHtml(input: GraphHtmlInput): string {
  const { cspSource, nonce, scriptUri, styleUri, title } = input;
  return `<!DOCTYPE html>
<html lang="en">
<head>
  <meta charset="UTF-8">
  <meta http-equiv="Content-Security-Policy" content="${escapeHtml(contentSecurityPolicy(cspSource, nonce))}">
  <meta name="viewport" content="width=device-width, initial-scale=1.0">
  <link rel="stylesheet" nonce="${escapeHtml(nonce)}" href="${escapeHtml(styleUri)}">
  <title>${escapeHtml(title)}</title>
</head>
<body>
  <div id="app" aria-busy="true">Loading the graph…</div>
  <script nonce="${escapeHtml(nonce)}" src="${escapeHtml(scriptUri)}"></script>
</body>
</html>
`;
}

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}
