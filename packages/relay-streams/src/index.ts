/** `@dispatch/relay-streams`: the Redis layout shared by the daemon's publisher and the relay. */
export * from "./layout";
export * from "./link";
