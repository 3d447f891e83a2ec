// The graph panel's browser side (bundled by scripts/build.mjs to dist/webview.js, its CSS to dist/webview.css).
// Only the web components used are imported, each from its own entry point, to keep the bundle small.
import '@vscode-elements/elements/dist/vscode-button/index.js';
import '@vscode-elements/elements/dist/vscode-option/index.js';
import '@vscode-elements/elements/dist/vscode-radio/index.js';
import '@vscode-elements/elements/dist/vscode-radio-group/index.js';
import '@vscode-elements/elements/dist/vscode-single-select/index.js';
import './graph.css';
import { GraphApp, type WebviewApi } from './app';

declare function acquireVsCodeApi(): WebviewApi;

const root = document.getElementById('app');
if (root) new GraphApp(root, acquireVsCodeApi()).start();
