export type {
  Actor,
  AdminErrorStatus,
  AdminHandlers,
  FailoverPreview,
  FailoverRequest,
  FailoverResult,
  OverrideNote,
  OverrideResult,
  RecordMove,
  SwitchoverDatabaseReport,
  SwitchoverRequest,
  SwitchoverResult,
} from './admin.js';
export { AdminRequestError, adminConflict, adminInvalid, adminNotFound } from './admin.js';
export { bearerToken, tokenMatches } from './auth.js';
export { MAX_BODY_BYTES } from './body.js';
export type { Readiness, ServerOptions, SwitchyardServer } from './http-server.js';
export { createServer } from './http-server.js';
export type {
  ActiveOverride,
  ComponentStatus,
  CurrentRole,
  DecisionSummary,
  DnsStatus,
  JournalSummary,
  PromotionStatus,
  RecordStatus,
  RegionStatus,
  StatusDocument,
  TargetStatus,
} from './status.js';
export { isoTime } from './status.js';
