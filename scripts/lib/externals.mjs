// Packages every esbuild bundle of the project leaves to Node's require: native code (onnxruntime-node, esbuild),
// what VS Code or the test host provides (vscode, mocha, @vscode/test-electron), and the browser driver. One list for
// scripts/build.mjs, scripts/run-unit.mjs and bench/lib/runTs.mjs, so a test bundle resolves what the product does.
export const EXTERNALS = ['vscode', 'onnxruntime-node', 'esbuild', 'mocha', 'playwright-core', '@vscode/test-electron'];
