/**
 * I/O: the lookups the pure policy cannot do itself — who owns a peer socket (netlink sock_diag via
 * FFI, else /proc/net). Kept apart from the pure entry point, which the purity test guards.
 */

export { type BrowserAccess, browserAccess } from "./browser-access";
export * from "./browser-sessions";
export { type PeerOwnerOptions, peerOwnerLookup, serverAddressCandidates } from "./peer-owner";
export { socketUid } from "./sock-diag";
