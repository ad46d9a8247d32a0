export * from "./policy";
export * from "./rate-limit";
export * from "./replies";
export * from "./router";
