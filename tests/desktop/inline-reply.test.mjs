// Inline replies: where the desktop's notification daemon lets the agent answer inside the
// notification (KDE Plasma; here a stand-in daemon, reply_daemon.py, since dunst has none), the
// app offers Reply, and the text the agent types is sent in that conversation, once.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { desktopSession, standIn, until } from "./session.mjs";

let session, daemon;

before(async () => {
  session = await desktopSession("reply", {
    async beforeApp(env) {
      daemon = await standIn("./reply_daemon.py", env);
      return daemon.stop;
    },
  });
  await session.signIn();
});

after(async () => {
  await session?.stop();
});

test("a reply typed in the notification is sent in its conversation", async () => {
  const { server } = session;
  await server.customerWrites("whatsapp", "5511955550505", "O pedido 4417 já saiu?", "Gabi Reis");
  const shown = await until("the daemon got the notification", async () => {
    const last = await daemon.ask("last");
    return last.summary === "Gabi Reis · WhatsApp" && last;
  });
  assert.equal(shown.body, "O pedido 4417 já saiu?");
  assert.ok(shown.actions.includes("inline-reply"), `Reply offered: ${shown.actions}`);
  await daemon.ask("reply Saiu hoje cedo, chega amanhã!");
  const sent = await server.atServer("the reply", (feed) => {
    const found = feed.filter((c) => c.entity?.type === "message" && c.entity.data.text === "Saiu hoje cedo, chega amanhã!");
    return found.length ? found : null;
  });
  assert.equal(sent.length, 1, "sent once");
  const gabi = (await server.feed()).find((c) => c.entity?.type === "contact" && c.entity.data.name === "Gabi Reis").entity.data;
  const conversation = (await server.feed()).find((c) => c.entity?.type === "conversation" && c.entity.data.contact_id === gabi.id).entity.data;
  assert.equal(sent[0].entity.data.conversation_id, conversation.id);
  assert.equal(sent[0].entity.data.direction, "outgoing");
});
