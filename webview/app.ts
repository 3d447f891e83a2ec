/**
 * The graph webview: toolbar (run, sample, full/top-k, compare), the SVG graph, and a side panel with blame,
 * trajectories and the run comparison. All user input goes to the host as typed messages (src/protocol/webview.ts);
 * the host answers with a whole new `state`. Listeners are attached in code (the CSP forbids inline handlers), and
 * all text goes in through textContent, never as HTML.
 */
import {
  isGraphViewModel,
  isHostMessage,
  message,
  type CompareRunsMessage,
  type GraphMode,
  type GraphViewModel,
  type OpenAgentPromptMessage,
  type OpenEdgeInputMessage,
  type ReadyMessage,
  type SelectRunMessage,
  type SelectSampleMessage,
  type ToggleModeMessage,
  type WebviewMessage,
} from '../src/protocol/webview';
import { GraphDrawing } from './drawing';
import { formatScore, percent } from './svg';

/** The part of VS Code's webview API this app uses. */
export interface WebviewApi {
  postMessage(message: WebviewMessage): void;
  getState(): unknown;
  setState(state: PersistedState): void;
}

/** What survives the panel being hidden (retainContextWhenHidden is off) or VS Code reloading. */
export interface PersistedState {
  model: GraphViewModel;
}

export class GraphApp {
  private drawing: GraphDrawing | undefined;
  private model: GraphViewModel | undefined;
  /** Refits the drawing whenever the canvas changes size (panel resized, side panel wrapped below). */
  private readonly resizes = new ResizeObserver(() => this.fit());
  private canvas: HTMLElement | undefined;

  constructor(
    private readonly root: HTMLElement,
    private readonly api: WebviewApi,
  ) {}

  start(): void {
    window.addEventListener('message', (event: MessageEvent<unknown>) => this.onHostMessage(event.data));
    // Draw what we had at once (no flash of an empty panel), then ask the host for the current state.
    const saved = this.api.getState() as Partial<PersistedState> | undefined;
    if (saved && isGraphViewModel(saved.model)) this.render(saved.model);
    this.api.postMessage(message<ReadyMessage>('ready', {}));
  }

  private onHostMessage(data: unknown): void {
    if (!isHostMessage(data)) return;
    switch (data.method) {
      case 'state':
        this.api.setState({ model: data.params });
        this.render(data.params);
        break;
      case 'highlight':
        this.drawing?.highlight(data.params.nodes, data.params.edges);
        break;
    }
  }

  private render(model: GraphViewModel): void {
    this.model = model;
    this.drawing = new GraphDrawing(model);
    const toolbar = this.toolbar(model);
    const notice = el('p', { class: 'notice' }, model.notice ?? '');
    notice.hidden = !model.notice;
    const canvas = el('div', { class: 'canvas' });
    canvas.append(this.drawing.svg);
    canvas.addEventListener('click', (e) => this.onGraphClick(e));
    const side = el('aside', { class: 'side' });
    side.append(this.blamePanel(model), this.trajectoryPanel(model));
    if (model.comparison) side.append(this.comparisonPanel(model));
    const main = el('div', { class: 'main' });
    main.append(canvas, side);
    this.root.replaceChildren(toolbar, notice, main);
    this.root.removeAttribute('aria-busy');
    this.resizes.disconnect();
    this.canvas = canvas;
    this.fit();
    this.resizes.observe(canvas);
  }

  private fit(): void {
    if (!this.canvas || !this.drawing) return;
    // The canvas's content box (its padding left out), so a fitted drawing causes no scroll bars.
    this.drawing.fit({ width: this.canvas.clientWidth - 4, height: this.canvas.clientHeight - 4 });
  }

  private onGraphClick(event: MouseEvent): void {
    const drawing = this.drawing;
    if (!drawing) return;
    const node = drawing.nodeOf(event.target);
    if (node?.agent !== undefined && node.kind === 'agent') {
      this.api.postMessage(message<OpenAgentPromptMessage>('openAgentPrompt', { agent: node.agent }));
      return;
    }
    const edge = drawing.edgeOf(event.target);
    if (edge) {
      const params = edge.callId ? { callId: edge.callId } : { from: edge.from, to: edge.to };
      this.api.postMessage(message<OpenEdgeInputMessage>('openEdgeInput', params));
    }
  }

  private toolbar(model: GraphViewModel): HTMLElement {
    const bar = el('div', { class: 'toolbar' });

    const runSelect = select(
      'Run',
      model.runs.map((r) => ({ value: r.id, label: `${r.id} · ${r.status} · mean ${formatScore(r.meanScore)}` })),
      model.runId,
    );
    runSelect.control.addEventListener('change', () => {
      if (runSelect.control.value) this.api.postMessage(message<SelectRunMessage>('selectRun', { runId: runSelect.control.value }));
    });

    const sampleSelect = select(
      'Sample',
      model.samples.map((s) => ({ value: s.id, label: `${s.id} · ${s.failed ? 'failed' : 'ok'} · ${formatScore(s.score)}` })),
      model.sampleId,
    );
    sampleSelect.control.addEventListener('change', () => {
      if (sampleSelect.control.value) this.api.postMessage(message<SelectSampleMessage>('selectSample', { sampleId: sampleSelect.control.value }));
    });

    const modes = document.createElement('vscode-radio-group');
    modes.setAttribute('aria-label', 'Graph');
    for (const [value, label] of [['full', 'Agent graph'], ['topk', 'Top-k of sample']] as const) {
      const radio = document.createElement('vscode-radio');
      radio.setAttribute('name', 'mode');
      radio.setAttribute('value', value);
      radio.setAttribute('label', label);
      radio.textContent = label;
      if (model.mode === value) radio.setAttribute('checked', '');
      radio.addEventListener('change', () => {
        if (radio.checked) this.api.postMessage(message<ToggleModeMessage>('toggleMode', { mode: value as GraphMode }));
      });
      modes.append(radio);
    }

    const otherRuns = model.runs.filter((r) => r.id !== model.runId);
    const compareWith = select('Compare with', otherRuns.map((r) => ({ value: r.id, label: `${r.id} · mean ${formatScore(r.meanScore)}` })), model.comparison?.b);
    const compare = document.createElement('vscode-button');
    compare.textContent = 'Compare';
    compare.toggleAttribute('disabled', !model.runId || otherRuns.length === 0);
    compare.addEventListener('click', () => {
      const b = compareWith.control.value || otherRuns[0]?.id;
      if (model.runId && b) this.api.postMessage(message<CompareRunsMessage>('compareRuns', { a: model.runId, b }));
    });

    bar.append(runSelect.wrapper, sampleSelect.wrapper, modes, compareWith.wrapper, compare);
    return bar;
  }

  private blamePanel(model: GraphViewModel): HTMLElement {
    const section = panel(model.mode === 'topk' ? `Blame (sample ${model.sampleId ?? ''})` : 'Blame (whole run)');
    // Every agent on a failing path gets that path, so two agents can both be "100%": say what the share is of.
    section.append(el('p', { class: 'hint' }, 'Failing trajectories (input → … → loss) that pass through each agent.'));
    const list = el('ul', { class: 'blame' });
    for (const b of model.blame) {
      const item = el('li', { title: `${b.agent}: ${b.text} (${percent(b.share)})` });
      const meter = el('meter', { min: '0', max: '1', value: String(b.share) });
      item.append(el('span', { class: 'name' }, b.agent), meter, el('span', { class: 'share' }, b.text));
      list.append(item);
    }
    section.append(list);
    return section;
  }

  private trajectoryPanel(model: GraphViewModel): HTMLElement {
    const section = panel(`Trajectories (${model.trajectories.length + model.trajectoriesOmitted})`);
    if (model.trajectories.length === 0) {
      section.append(el('p', { class: 'empty' }, model.runId ? 'No trajectories: nothing failed here, or no run.' : 'No run yet.'));
      return section;
    }
    const list = el('ol', { class: 'trajectories' });
    for (const t of model.trajectories) {
      const item = el('li', { tabindex: '0', 'data-trajectory': String(t.index) }, `${t.sampleId}: input → ${t.agents.join(' → ')} → loss`);
      list.append(item);
    }
    // One delegated listener pair for the whole list; hover and keyboard focus highlight the same way.
    const show = (target: EventTarget | null) => {
      const index = Number((target as Element | null)?.closest?.('[data-trajectory]')?.getAttribute('data-trajectory'));
      const t = this.model?.trajectories[index];
      if (t) this.drawing?.highlight(t.nodes, t.edges);
    };
    const clear = () => this.drawing?.highlight([], []);
    list.addEventListener('mouseover', (e) => show(e.target));
    list.addEventListener('focusin', (e) => show(e.target));
    list.addEventListener('mouseleave', clear);
    list.addEventListener('focusout', clear);
    section.append(list);
    if (model.trajectoriesOmitted > 0) section.append(el('p', { class: 'empty' }, `${model.trajectoriesOmitted} more not listed.`));
    return section;
  }

  private comparisonPanel(model: GraphViewModel): HTMLElement {
    const c = model.comparison!;
    const section = panel(`Compare ${c.a} → ${c.b}`);
    section.append(
      el('p', { class: 'summary' }, `mean ${formatScore(c.meanA)} → ${formatScore(c.meanB)} · ${c.improved} improved · ${c.regressed} regressed · ${c.unchanged} unchanged`),
    );
    const table = el('table', { class: 'comparison' });
    const head = el('tr', {});
    for (const h of ['Sample', 'A', 'B', 'Δ', '']) head.append(el('th', {}, h));
    table.append(head);
    for (const r of c.rows) {
      const row = el('tr', { class: r.change });
      row.append(
        el('td', {}, r.sampleId),
        el('td', {}, formatScore(r.scoreA)),
        el('td', {}, formatScore(r.scoreB)),
        el('td', {}, r.delta === undefined ? '–' : (r.delta > 0 ? '+' : '') + r.delta.toFixed(3)),
        el('td', {}, r.change),
      );
      table.append(row);
    }
    section.append(table);
    return section;
  }
}

function el(tag: string, attrs: Record<string, string>, text?: string): HTMLElement {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
  if (text !== undefined) e.textContent = text;
  return e;
}

function panel(title: string): HTMLElement {
  const section = el('section', { class: 'panel' });
  section.append(el('h2', {}, title));
  return section;
}

function select(label: string, options: Array<{ value: string; label: string }>, selected: string | undefined) {
  const wrapper = el('label', { class: 'field' });
  wrapper.append(el('span', {}, label));
  const control = document.createElement('vscode-single-select');
  control.toggleAttribute('disabled', options.length === 0);
  for (const o of options) {
    const option = document.createElement('vscode-option');
    option.setAttribute('value', o.value);
    option.textContent = o.label;
    if (o.value === selected) option.setAttribute('selected', '');
    control.append(option);
  }
  wrapper.append(control);
  return { wrapper, control };
}
