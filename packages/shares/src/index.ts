export * from "./contract";
export { sharesExtension } from "./extension";
export { DEFAULT_FAILURE_BUDGET, type FailureBudget, FailureCounter } from "./failures";
export { hashSecret, mintShare, sameHash, secretShareId, verdict } from "./secret";
export { createShares, type SharesOptions, type SharesService } from "./shares";
