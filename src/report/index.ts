/** The report module's public API: the model, the pure renderers, the writers, the run events. */
export type { PhaseName, RunEvent, RunEventType, RunSink } from './events.ts';
export { teeSinks } from './events.ts';
export { renderHtml } from './html.ts';
export { type InvariantResult, invariantResults } from './invariants.ts';
export { type RenderOptions, renderJson } from './json.ts';
export { renderJunit } from './junit.ts';
export { renderMarkdown } from './markdown.ts';
export {
  type FaultRecord,
  INVARIANTS,
  REPORT_SCHEMA_VERSION,
  type Report,
  type ReportFinding,
  reportJsonSchema,
  reportSchema,
  type SeriesPoint,
  type TamperRecord,
  type ThresholdResult,
} from './model.ts';
export { createRedactor, REDACTED, redactDeep, redactSecrets } from './redact.ts';
export {
  createJsonLines,
  createPlainLog,
  createQuietSink,
  createTerminalSink,
  createTtyView,
  renderSummary,
  type TerminalOptions,
} from './terminal/index.ts';
export {
  FORMAT_FILES,
  type IndexEntry,
  REPORT_FORMATS,
  type ReportFormat,
  readReport,
  reportDirName,
  rerenderReport,
  type WriteReportOptions,
  writeIndex,
  writeReport,
} from './write.ts';
