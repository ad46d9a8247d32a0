export * from "./connection-policy";
export * from "./contract";
export * from "./headers";
export * from "./proc-net";
export * from "./sock-diag-layout";
