/**
 * Level-1 conformance: a strict client of the original protocol (what the existing, unchanged frontend
 * understands) against a real daemon subprocess. Any frame or event type outside PROTOCOL.md's level-1
 * sets fails the test it arrives in.
 */
import { conformanceSuite } from "./scenarios";

conformanceSuite(1);
