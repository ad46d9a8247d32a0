/**
 * Level-2 conformance: the same scenarios as level1.test.ts after `hello` with protocol 2; the
 * extended events (user-message, step-complete, permission-request, presence…) must arrive too.
 */
import { conformanceSuite } from "./scenarios";

conformanceSuite(2);
