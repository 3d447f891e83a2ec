/** Run reports: per-agent blame, connection weights and trajectories as text/JSON, and the self-contained HTML report. */
export { summarizeRun, formatSummary, formatWeight, type RunSummary, type CallWeights } from './summary';
export { renderHtmlReport, type HtmlReportOptions } from './html';
