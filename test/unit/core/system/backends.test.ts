/** attribution.backends in agentchord.yaml: resolved (ca made absolute) and checked, each problem at its field. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { resolve } from 'node:path';
import { DIR, expectProblems, hostWith, load, PROMPTS, VALID } from './helpers';

const host = () => hostWith(...PROMPTS, 'models/tiny', 'certs/ca.pem');

test('valid backends are resolved, ca relative to the system file', () => {
  const result = load([...VALID, 'attribution:', '  model: tiny', '  backends:', '    - { url: "tls://gpu1:7400", tokenEnv: GPU1_TOKEN, ca: certs/ca.pem, concurrency: 2 }', '    - { url: "tcp://127.0.0.1:7401", tokenEnv: T }'], host());
  expectProblems(result, []);
  assert.deepEqual(result.system?.attribution.backends, [
    { url: 'tls://gpu1:7400', tokenEnv: 'GPU1_TOKEN', ca: resolve(DIR, 'certs/ca.pem'), concurrency: 2 },
    { url: 'tcp://127.0.0.1:7401', tokenEnv: 'T' },
  ]);
});

test('bad entries name the field: scheme, port, duplicates, ca on tcp, a missing ca file, a token in tokenEnv', () => {
  const result = load(
    [
      ...VALID,
      'attribution:',
      '  backends:',
      '    - { url: "http://gpu1:7400", tokenEnv: A }', // 21
      '    - { url: "tcp://gpu1:99999", tokenEnv: A }', // 22
      '    - { url: "tcp://gpu2:7400", tokenEnv: A, ca: certs/ca.pem }', // 23
      '    - { url: "tcp://gpu2:7400", tokenEnv: A }', // 24
      '    - { url: "tls://gpu3:7400", tokenEnv: A, ca: certs/missing.pem }', // 25
      '    - { url: "tls://gpu4:7400", tokenEnv: "sk-123 456" }', // 26
    ],
    host(),
  );
  expectProblems(result, [
    ['21:14', /attribution\.backends\[0\]\.url: expected tcp:\/\/host:port or tls:\/\/host:port/],
    ['22:14', /backend tcp:\/\/gpu1:99999: port must be 1-65535/],
    ['23:50', /backend tcp:\/\/gpu2:7400: ca is only for tls:\/\/ backends/],
    ['24:14', /backend tcp:\/\/gpu2:7400 is listed twice/],
    ['25:50', /CA file of backend tls:\/\/gpu3:7400 'certs\/missing\.pem' not found/],
    ['26:43', /attribution\.backends\[5\]\.tokenEnv: expected the name of an environment variable/],
  ]);
});
