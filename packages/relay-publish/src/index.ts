/** `@dispatch/relay-publish`: the daemon's publisher of shared conversations to Redis (for relays). */
export * from "./contract";
export { relayPublishExtension } from "./extension";
export { type Publisher, type PublisherConfig, type PublisherSources, startPublisher } from "./publisher";
