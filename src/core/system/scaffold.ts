/**
 * The files of a new system ("AgentChord: New System", `agentchord init`): a small working system a user can run and
 * then change. Two templates:
 *  - endpoint: researcher -> critic -> writer on an OpenAI-compatible endpoint, with a built-in loss, attributed on a
 *    pulled surrogate named by repository id (`agentchord model pull Qwen/Qwen3-0.6B`);
 *  - offline: the shape of examples/demo-blame — three replayed reporters and an answerer on the embedded
 *    chord-retrieval model in the format it was trained on — so the first `agentchord run` has real connection
 *    weights with no key, no download and no network.
 */
import { SYSTEM_FILE_NAME } from './files';

export const SCAFFOLD_TEMPLATES = ['offline', 'endpoint'] as const;
export type ScaffoldTemplate = (typeof SCAFFOLD_TEMPLATES)[number];

/** The surrogate the endpoint template attributes on (pulled by repository id). */
export const ENDPOINT_SURROGATE = 'Qwen/Qwen3-0.6B';

export interface ScaffoldOptions {
  name: string;
  /** Default 'endpoint'. */
  template?: ScaffoldTemplate;
  /** offline: the chord-retrieval model folder (absolute). The caller finds it: it ships with the CLI/extension. */
  retrievalModel?: string;
}

export interface ScaffoldFile {
  /** Relative to the new system's folder, with '/' separators. */
  path: string;
  content: string;
}

export function scaffoldSystem(options: ScaffoldOptions): ScaffoldFile[] {
  const name = options.name.trim() || 'my-system';
  if (options.template === 'offline') {
    if (!options.retrievalModel) throw new Error('the offline template needs the chord-retrieval model folder');
    return offlineScaffold(name, options.retrievalModel);
  }
  return [
    { path: SYSTEM_FILE_NAME, content: systemFile(name) },
    // README second in both templates: it is the file other than the system file that every scaffold writes.
    {
      path: 'README.md',
      content:
        `# ${name}\n\nA three-agent AgentChord system (researcher -> critic -> writer); edit \`agentchord.yaml\` and ` +
        `the prompts in \`prompts/\`, then run \`agentchord validate\`.\n\n` +
        `Connection weights come from a small local surrogate model; download it once with ` +
        `\`agentchord model pull ${ENDPOINT_SURROGATE}\`, set OPENAI_API_KEY, then \`agentchord run\`.\n`,
    },
    { path: 'prompts/researcher.chord.md', content: RESEARCHER },
    { path: 'prompts/critic.chord.md', content: CRITIC },
    { path: 'prompts/writer.chord.md', content: WRITER },
    { path: 'data/train.jsonl', content: jsonl(TRAIN) },
    { path: 'data/validation.jsonl', content: jsonl(VALIDATION) },
  ];
}

function systemFile(name: string): string {
  // JSON.stringify gives a valid YAML double-quoted string for any name (YAML is a superset of JSON's strings).
  return `# AgentChord system file. Reference: docs/system-file.md in the AgentChord repository.
version: 1
name: ${JSON.stringify(name)}
description: Answers short factual questions; a critic checks the researcher's notes before the writer answers.

models:
  gpt:
    provider: openai              # any OpenAI-compatible endpoint (vLLM, Ollama, ... via baseUrl)
    baseUrl: https://api.openai.com/v1
    model: gpt-4o-mini
    apiKeyEnv: OPENAI_API_KEY     # the NAME of the variable holding the key, never the key itself
    parameters: { temperature: 0 }
  # The attribution model: a small open model on this machine that re-reads each call and says which inputs drove
  # its output (the endpoint's model cannot be differentiated). Download it once with:
  #   agentchord model pull ${ENDPOINT_SURROGATE}
  surrogate:
    provider: local
    path: ${ENDPOINT_SURROGATE}         # a repository id in the model cache, or a model folder
    device: auto

agents:
  researcher:
    prompt: prompts/researcher.chord.md
    model: gpt
    inputs: [task.question]
  critic:
    prompt: prompts/critic.chord.md
    model: gpt
    inputs: [researcher, task.question]
  writer:
    prompt: prompts/writer.chord.md
    model: gpt
    inputs: [researcher, critic, task.question]

output: writer

datasets:
  train: data/train.jsonl
  validation: data/validation.jsonl

loss:
  builtin: exact_match

attribution:
  model: surrogate
  strategy: mean_l1_norm
  topK: 1

optimizer:
  model: gpt
  batchSize: 3
  steps: 10
`;
}

const RESEARCHER = `---
description: Collects the facts needed to answer the question.
---
You are a careful researcher. Write short notes with the facts needed to answer this question:

{{task.question}}

<DONT_CHANGE>
Write at most five bullet points. Do not answer the question yourself.
</DONT_CHANGE>
`;

const CRITIC = `---
description: Checks the researcher's notes for mistakes.
---
You are a critic. Read the researcher's notes for the question "{{task.question}}" and point out any fact that is
wrong or missing.

<DONT_CHANGE>
If the notes are correct and complete, answer exactly: OK.
</DONT_CHANGE>
`;

const WRITER = `---
description: Writes the final answer.
---
You answer the question "{{task.question}}" using the researcher's notes, corrected by the critic where they disagree.

<DONT_CHANGE>
Answer with the answer only: a single word or number, no full sentence, no punctuation.
</DONT_CHANGE>
`;

const TRAIN = [
  { question: 'What is the capital of France?', answer: 'Paris' },
  { question: 'How many legs does a spider have?', answer: '8' },
  { question: 'Which planet is closest to the Sun?', answer: 'Mercury' },
];

const VALIDATION = [
  { question: 'What is the largest ocean on Earth?', answer: 'Pacific' },
  { question: 'How many days are in a leap year?', answer: '366' },
];

function jsonl(rows: readonly object[]): string {
  return rows.map((r) => JSON.stringify(r)).join('\n') + '\n';
}

// ---------------------------------------------------------------------------------------------------------------
// The offline template: examples/demo-blame's shape, so chord-retrieval sees exactly the input format it was trained on.

function offlineScaffold(name: string, retrievalModel: string): ScaffoldFile[] {
  return [
    { path: SYSTEM_FILE_NAME, content: offlineSystemFile(name, retrievalModel) },
    {
      path: 'README.md',
      content: `# ${name}

An AgentChord system that runs offline: three reporters (Planner, Checker, Scout) report what people in a scene have,
and the answerer answers a question about one person from their reports. The reporters replay their replies from the
data (\`provider: replay\`); the answerer runs on chord-retrieval, the small model embedded in AgentChord, which was
trained on exactly this input format, and its calls are attributed on the same model. No API key, no network.

In the training samples Checker misreports the person asked about, so the answer is wrong; the connection weights of
the answerer's call show which report the answer came from, and the backward pass blames Checker.

    agentchord run           # connection weights of every call
    agentchord optimize      # a proposal (a warning for the blamed reporter's prompt), for review
    agentchord report

To use your own agents, see the endpoint template (\`agentchord init --template endpoint\`).
`,
    },
    { path: 'prompts/planner.chord.md', content: reporterPrompt('Planner') },
    { path: 'prompts/checker.chord.md', content: reporterPrompt('Checker') },
    { path: 'prompts/scout.chord.md', content: reporterPrompt('Scout') },
    { path: 'prompts/answerer.chord.md', content: ANSWERER },
    { path: 'losses/answer-loss.md', content: 'The answer about {{task.person}} was "{{output}}", but {{task.person}} has {{reference}}\n' },
    { path: 'data/train.jsonl', content: jsonl(OFFLINE_TRAIN) },
    { path: 'data/validation.jsonl', content: jsonl(OFFLINE_VALIDATION) },
  ];
}

function offlineSystemFile(name: string, retrievalModel: string): string {
  return `# AgentChord system file (offline template). Reference: docs/system-file.md in the AgentChord repository.
#
# The reporters are deterministic (provider: replay: each replies with the sample's \`reports.<agent>\`); the answerer
# runs on chord-retrieval, a 260K-parameter model trained for this input format, and its answer is attributed on the
# same model. Run: agentchord run
version: 1
name: ${JSON.stringify(name)}
description: Three reporters report facts about a scene; the answerer answers a question from their reports.

models:
  reports:
    provider: replay
    field: reports
  retrieval:
    provider: local
    # The chord-retrieval model embedded in AgentChord.
    path: ${JSON.stringify(retrievalModel)}
    device: cpu
    parameters: { max_tokens: 12, temperature: 0, stop: ["\\n"] }

agents:
  planner:
    label: Planner
    description: Reports what people in the scene have.
    prompt: prompts/planner.chord.md
    model: reports
    inputs: [task.scene]
  checker:
    label: Checker
    description: Reports what people in the scene have.
    prompt: prompts/checker.chord.md
    model: reports
    inputs: [task.scene]
  scout:
    label: Scout
    description: Reports what people in the scene have.
    prompt: prompts/scout.chord.md
    model: reports
    inputs: [task.scene]
  answerer:
    description: Answers the question from the reports, in the format chord-retrieval was trained on.
    prompt: prompts/answerer.chord.md
    model: retrieval
    inputs: [planner, checker, scout]
    # One line per report ("Scout: Lucy has a red ball."), where the prompt says {{input}}: the model's own format.
    input: { format: lines, template: "{{label}}: {{content}}", separator: "\\n" }
    # The prompt is the model's trained format; a warning added to it would only confuse the model.
    optimize: false

output: answerer

attribution: { model: retrieval, strategy: max_grad_input, topK: 1 }

datasets:
  train: data/train.jsonl
  validation: data/validation.jsonl

loss:
  builtin: exact_match
  options: { reference: answer, template: losses/answer-loss.md }

optimizer:
  kind: warnings
  batchSize: 2
  steps: 1
  # The reporters replay their replies from the data, so a changed prompt cannot change what they say.
  acceptanceTest: false
  maxPromptChars: 2000
`;
}

function reporterPrompt(label: string): string {
  return `---
role: reporter
---
You are ${label}. Read the scene and report what the people in it have, one sentence each, exactly as the scene says:
"<Name> has a <adjective> <thing>."
`;
}

const ANSWERER = `---
role: answerer
---
<DONT_CHANGE>
{{input}}
Question: What does {{task.person}} have?
Answer:
</DONT_CHANGE>
`;

const OFFLINE_TRAIN = [
  {
    id: 'lucy',
    scene: 'Lucy has a blue toy. Max has a little bag. Mia has a pink kite. Tom has a green boat.',
    reports: { planner: 'Max has a little bag.', checker: 'Lucy has a red ball.', scout: 'Mia has a pink kite. Tom has a green boat.' },
    person: 'Lucy',
    answer: 'a blue toy.',
  },
  {
    id: 'ben',
    scene: 'Ben has a soft bear. Sue has a yellow cup. Sam has a big dog.',
    reports: { planner: 'Sue has a yellow cup. I am happy.', checker: 'Ben has a new hat.', scout: 'Sam has a big dog.' },
    person: 'Ben',
    answer: 'a soft bear.',
  },
];

const OFFLINE_VALIDATION = [
  {
    id: 'amy',
    scene: 'Amy has a green kite. Bob has a red car. Lily has a soft cat.',
    reports: { planner: 'Amy has a green kite.', checker: 'Bob has a red car.', scout: 'Lily has a soft cat.' },
    person: 'Bob',
    answer: 'a red car.',
  },
  {
    id: 'anna',
    scene: 'Anna has a new book. Jack has a pink cake.',
    reports: { planner: 'Jack has a pink cake.', checker: 'Anna has a new book.', scout: 'Thank you.' },
    person: 'Jack',
    answer: 'a pink cake.',
  },
];
