/**
 * The files of a new system ("AgentChord: New System"): a small working three-agent system a user can run and then
 * change — researcher -> critic -> writer, on an OpenAI-compatible endpoint, with a built-in loss.
 */
import { SYSTEM_FILE_NAME } from './files';

export interface ScaffoldFile {
  /** Relative to the new system's folder, with '/' separators. */
  path: string;
  content: string;
}

export function scaffoldSystem(options: { name: string }): ScaffoldFile[] {
  const name = options.name.trim() || 'my-system';
  return [
    { path: SYSTEM_FILE_NAME, content: systemFile(name) },
    { path: 'prompts/researcher.chord.md', content: RESEARCHER },
    { path: 'prompts/critic.chord.md', content: CRITIC },
    { path: 'prompts/writer.chord.md', content: WRITER },
    { path: 'data/train.jsonl', content: jsonl(TRAIN) },
    { path: 'data/validation.jsonl', content: jsonl(VALIDATION) },
    {
      path: 'README.md',
      content:
        `# ${name}\n\nA three-agent AgentChord system (researcher -> critic -> writer); edit \`agentchord.yaml\` and ` +
        `the prompts in \`prompts/\`, then run \`agentchord validate\`.\n`,
    },
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
