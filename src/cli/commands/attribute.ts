/**
 * `agentchord attribute --model <dir> --request <file.json>`: runs gradient attribution in-process and prints the
 * result JSON (see HELP; tests and benchmarks depend on this exact contract).
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import type { AttributionResult } from '../../protocol/attribution';
import { formatProblems, parseAttributionRequests, type RequestProblem } from '../../shared/validateRequest';
import { AttributionMemoryError } from '../../backend/runtime/layeredAttribution';
import { NonFiniteResultError } from '../../backend/runtime/loadModel';
import { CliError } from '../cliError';
import type { Command } from '../command';
import { parseDeviceChoice } from '../../backend/runtime/device';
import type { LocalModel } from '../../protocol/localModel';
import { BackendErrorCodes } from '../../protocol/backend';
import { BackendRequestError } from '../../core/backend/errors';
import { BACKEND_OPTIONS, BACKEND_OPTIONS_HELP, remoteModelsFor } from '../remoteBackends';
import { loadCliModel, MODEL_OPTIONS_HELP, parseCommandArgs } from './localModel';

const HELP = `Usage: agentchord attribute --model <dir> --request <file.json> [--device auto|cpu|cuda|webgpu]

Computes S = sum_{i >= targetStart} log p(ids[i] | ids[<i]) and the gradient of S with respect to each tail token's
input embedding, reduced per token (L1 norm, gradient·input) and per span (mean and max).

  --request <file>    {"inputIds": [...], "prefixLength": p, "targetStart": t, "spans": [{"id", "start", "end"}]}
                      or an array of such requests. Positions [0, p) are the prefix (no gradient), [p, n) the tail,
                      targets are [t, n) with t > p; spans are half-open [start, end) with start >= p.
${MODEL_OPTIONS_HELP}
${BACKEND_OPTIONS_HELP}
                       (--model is then a name the backend resolves; the requests are sent there)

Prints {"logProb", "tokens": [{"l1", "gradInput"} per tail position], "connections": {spanId: {"meanL1", "maxL1",
"meanGradInput", "maxGradInput"}}} (an array for an array). Exit status 2 on an invalid request, naming the field
(the first 20 problems are listed, long values abbreviated); 1 when a request cannot fit in free memory or the model
produces NaN or infinity, naming the request.`;

function invalidRequest(file: string, problems: RequestProblem[]): CliError {
  return new CliError(`attribute: invalid request in ${file}:\n${formatProblems(problems).map((line) => `  ${line}`).join('\n')}`);
}

/** Only the contract's fields (the runtime may add diagnostics such as an L2 norm). */
function contractResult(result: AttributionResult): AttributionResult {
  return {
    logProb: result.logProb,
    tokens: result.tokens.map(({ l1, gradInput }) => ({ l1, gradInput })),
    connections: result.connections,
  };
}

export const attributeCommand: Command = {
  name: 'attribute',
  summary: 'gradient attribution of a token sequence with a local model (JSON in, JSON out)',
  help: HELP,
  async run(args: string[]): Promise<number> {
    const values = parseCommandArgs('attribute', args, { request: { type: 'string' }, ...BACKEND_OPTIONS });
    if (!values.request) throw new CliError('attribute: --request <file.json> is required');
    const file = resolve(values.request);
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (err) {
      throw new CliError(`attribute: --request: cannot read ${file} (${(err as NodeJS.ErrnoException).code ?? String(err)})`);
    }
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch (err) {
      throw new CliError(`attribute: --request: ${file} is not valid JSON (${(err as Error).message})`);
    }
    // Shape first, so a malformed file fails before the model loads; ids against the vocabulary once it has.
    const shape = parseAttributionRequests(json);
    if (shape.problems.length) throw invalidRequest(file, shape.problems);

    const remote = remoteModelsFor('attribute', values);
    let model: { info: { vocabSize: number; maxPositions: number }; attribute: LocalModel['attribute']; dispose(): Promise<void> };
    if (remote) {
      if (!values.model) throw new CliError('attribute: --model <name> is required');
      const device = parseDeviceChoice(values.device ?? 'auto');
      if (!device) throw new CliError(`attribute: --device: expected auto, cpu, cuda or webgpu, got '${values.device}'`);
      let loaded: LocalModel;
      try {
        loaded = await remote.model(values.model, device);
      } catch (err) {
        await remote.dispose();
        // The backend refusing the name (not there, a client path) is bad input; a backend that failed is not.
        const invalid = err instanceof BackendRequestError && err.code === BackendErrorCodes.InvalidParams;
        throw new CliError(`attribute: --model ${values.model}: ${(err as Error).message}`, invalid ? 2 : 1);
      }
      model = { info: loaded.info, attribute: (request) => loaded.attribute(request), dispose: () => remote.dispose() };
    } else {
      model = await loadCliModel('attribute', values);
    }
    try {
      const { requests, isArray, problems } = parseAttributionRequests(json, { vocabSize: model.info.vocabSize, maxPositions: model.info.maxPositions });
      if (problems.length) throw invalidRequest(file, problems);
      const results: AttributionResult[] = [];
      for (const [i, request] of requests.entries()) {
        try {
          results.push(contractResult(await model.attribute(request)));
        } catch (err) {
          // Name the request that failed; a bad result or a request too big for memory is not an internal error.
          if (err instanceof NonFiniteResultError || err instanceof AttributionMemoryError) throw new CliError(`attribute: ${isArray ? `request[${i}]` : 'request'}: ${err.message}`, 1);
          throw err;
        }
      }
      process.stdout.write(JSON.stringify(isArray ? results : results[0]) + '\n');
      return 0;
    } finally {
      await model.dispose();
    }
  },
};
