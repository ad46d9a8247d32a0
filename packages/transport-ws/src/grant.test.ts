import { afterAll, beforeAll, expect, test } from "bun:test";
import { FRONTEND_ORIGIN, startTestDaemon, TestClient, type TestDaemon } from "./test-support";

let d: TestDaemon;
const clients: TestClient[] = [];

beforeAll(async () => {
  d = await startTestDaemon();
});
afterAll(async () => {
  for (const c of clients) c.close();
  await d.stop();
});

test("a grant from a browser admitted without the token is refused with FORBIDDEN; no turn starts", async () => {
  const browser = await TestClient.connect(d.url, { token: null, origin: FRONTEND_ORIGIN });
  clients.push(browser);
  await browser.nextOf("catalog");
  browser.send({
    type: "chat.send",
    id: "g1",
    conversationId: "grant-c1",
    message: "hi",
    grant: { all: true },
  });
  const reply = await browser.next(
    (f) => f.type === "chat.error" || f.type === "ack",
    "the reply to chat.send",
  );
  expect(reply).toMatchObject({
    type: "chat.error",
    code: "FORBIDDEN",
    conversationId: "grant-c1",
    replyTo: "g1",
  });
});

test("the same grant with the token starts the turn", async () => {
  const cli = await TestClient.connect(d.url);
  clients.push(cli);
  await cli.nextOf("catalog");
  cli.send({
    type: "chat.send",
    id: "g2",
    conversationId: "grant-c2",
    message: "hi",
    grant: { tools: ["run_shell"] },
  });
  const reply = await cli.next((f) => f.type === "chat.error" || f.type === "ack", "the reply to chat.send");
  expect(reply).toMatchObject({ type: "ack", replyTo: "g2" });
});
