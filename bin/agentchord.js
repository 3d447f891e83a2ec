#!/usr/bin/env node
// Thin launcher: the CLI itself is bundled into dist/cli.js by `npm run build`.
process.env.ORT_DISABLE_TELEMETRY ??= '1';
require('../dist/cli.js');
