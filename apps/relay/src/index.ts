/** `@dispatch/relay`: serves share viewers from Redis (PROTOCOL.md §8 "Relays"). */
export { parseRelayArgs, RELAY_USAGE, type RelayArgs, runRelayCli } from "./cli";
export {
  DEFAULT_RELAY_LIMITS,
  matchDaemonRoute,
  RELAY_VERSION,
  type Relay,
  type RelayLimits,
  type RelayOptions,
  startRelay,
} from "./relay";
