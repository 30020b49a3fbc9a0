/** The Luna daemon protocol client (docs/daemon-protocol.md §5–§10): re-exports. */
export * from './errors.js';
export * from './framing.js';
export * from './pickle-encode.js';
export { decodePickle, opcodeName, DEFAULT_MAX_DEPTH, type DecodeOptions } from './pickle-decode.js';
export * from './luna-client.js';
export * from './luna-channel.js';
export * from './generation-probe.js';
export * from './monitor-socket.js';
export * from './normalize-info.js';
