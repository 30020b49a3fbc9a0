/** Daemon output capture: line splitting, level parsing, the in-memory ring and the rotating file. */
export { stripAnsi } from './strip-ansi.js';
export { createLineSplitter, DEFAULT_MAX_LINE_LENGTH, truncationMarker } from './line-splitter.js';
export type { LineSplitter, LineSplitterOptions } from './line-splitter.js';
export {
  DIRECT_LINE_RE,
  LEGACY_LINE_RE,
  TRAY_LINE_RE,
  parseLogFileLine,
  parseLogLine,
  rawLineLevel,
} from './log-line-parser.js';
export type { LogLineFormat, ParsedFileLine, ParsedLogLine } from './log-line-parser.js';
export { createRecordAssembler } from './record-assembler.js';
export type { RecordAssembler } from './record-assembler.js';
export { DEFAULT_LOG_CAPACITY, LogStore } from './log-store.js';
export type { LogListener, LogSlice, LogStoreOptions, NewLogEntry } from './log-store.js';
export {
  createRotatingFile,
  DEFAULT_LOG_FILE_COUNT,
  DEFAULT_LOG_FILE_MAX_BYTES,
  RotatingFileError,
} from './rotating-file.js';
export type { RotatingFile, RotatingFileOptions } from './rotating-file.js';
export {
  createLogCapture,
  DEFAULT_RECORD_IDLE_MS,
  formatSupervisorFileLine,
  SUPERVISOR_FILE_TAG,
} from './log-capture.js';
export type { LogCapture, LogCaptureOptions } from './log-capture.js';
