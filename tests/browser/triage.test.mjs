// Triage at the speed of thought, in a real browser against the real server: the command palette
// (Ctrl+K), undo before and after the action left for the server (both end with the server as it
// was), links in messages opened outside the app, and files by paste and by drop.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { png, shot, signIn, until, world } from "./harness.mjs";

let w;
before(async () => {
  w = await world();
});
after(async () => {
  await w?.stop();
});

/** The conversation of the contact named `name`, as the server has it. */
async function atServer(name) {
  const feed = await w.feed();
  const contact = feed.find((c) => c.entity?.type === "contact" && c.entity.data.name === name);
  const conversation = feed.filter((c) => c.entity?.type === "conversation" && c.entity.data.contact_id === contact?.entity.data.id).at(-1)?.entity.data;
  const events = feed.filter((c) => c.entity?.type === "event" && c.entity.data.conversation_id === conversation?.id).map((c) => c.entity.data.kind.type);
  return { conversation, events };
}


/** What undo must leave as it was. */
const triageState = (c) => ({ state: c.state, assignee: c.assignee, unanswered: c.unanswered, snoozed_until: c.snoozed_until });

test("the command palette runs every action and view by name, its shortcut shown", async () => {
  await w.customerWrites("whatsapp", "5511977770001", "Bom dia, preciso da segunda via", "Paulo Paleta");
  const page = await w.page("pt-BR");
  await signIn(page, w);
  await page.locator(".row", { hasText: "Paulo Paleta" }).click();
  await page.locator(".timeline .bubble", { hasText: "segunda via" }).waitFor();
  // From the composer too: Ctrl+K is not text.
  await page.locator(".composer textarea").click();
  await page.keyboard.press("Control+k");
  const palette = page.getByRole("dialog", { name: "Comandos" });
  await palette.waitFor();
  const options = palette.getByRole("option");
  assert.ok((await options.count()) > 15, "every action and view");
  await palette.getByRole("combobox").fill("atribuir");
  assert.deepEqual(await options.allTextContents(), ["Atribuir a mimConversaA"]);
  await shot(page, "palette-pt");
  await page.keyboard.press("Enter");
  await palette.waitFor({ state: "detached" });
  const me = (await w.login()).agent;
  await until("assigned by the palette", async () => (await atServer("Paulo Paleta")).conversation?.assignee === me.id, 15_000);

  // A place by name, with the keyboard only.
  await page.keyboard.press("Control+k");
  await palette.getByRole("combobox").fill("ir com falha");
  await page.keyboard.press("Enter");
  await page.locator("section.folder h1", { hasText: "Com falha" }).waitFor();
  await page.keyboard.press("Control+k");
  await palette.getByRole("combobox").fill("nada disso existe");
  await palette.getByText("Nenhum comando com esse nome").waitFor();
  await page.keyboard.press("Escape");
  await palette.waitFor({ state: "detached" });
  assert.deepEqual(page.errors, []);
  await page.context().close();
});

test("undo after the close reached the server: reopened, and back with its agent", async () => {
  await w.customerWrites("whatsapp", "5511977770002", "Ainda aguardo retorno", "Ulisses Undo");
  const page = await w.page();
  await signIn(page, w);
  await page.locator(".row", { hasText: "Ulisses Undo" }).click();
  const pane = page.locator("section.conversation");
  await pane.getByRole("button", { name: "Assign to me" }).click();
  const me = (await w.login()).agent;
  const { conversation: assigned } = await until("assigned", async () => {
    const s = await atServer("Ulisses Undo");
    return s.conversation?.assignee === me.id && s;
  }, 15_000);
  const beforeState = triageState(assigned);
  // Close with the keyboard; the server closes it (and unassigns it: the rule).
  await page.locator("body").click({ position: { x: 600, y: 5 } });
  await page.keyboard.press("e");
  const toast = page.getByRole("status").filter({ hasText: "Conversation closed" });
  await toast.waitFor();
  await shot(page, "undo-toast");
  await until("closed at the server", async () => (await atServer("Ulisses Undo")).conversation?.state === "closed", 15_000);
  await toast.getByRole("button", { name: "Undo" }).click();
  await page.getByRole("status").filter({ hasText: /^Undone$/ }).waitFor();
  const back = await until("reopened and assigned again", async () => {
    const s = await atServer("Ulisses Undo");
    return s.conversation?.state === "open" && s.conversation.assignee === me.id && s;
  }, 15_000);
  assert.deepEqual(triageState(back.conversation), beforeState, "the server has it as before the close");
  assert.deepEqual(page.errors, []);
  await page.context().close();
});

test("undo before the close left (the server away): withdrawn, the server never sees it", async () => {
  await w.customerWrites("whatsapp", "5511977770003", "Vocês abrem amanhã?", "Vera Volta");
  const page = await w.page();
  await signIn(page, w);
  const before = await atServer("Vera Volta");
  await page.locator(".row", { hasText: "Vera Volta" }).click();
  await page.locator(".timeline .bubble", { hasText: "abrem amanhã" }).waitFor();
  await w.stopServer();
  await page.getByTestId("connection").getByText(/Offline/).waitFor({ timeout: 20_000 });
  await page.locator("body").click({ position: { x: 600, y: 5 } });
  await page.keyboard.press("e");
  await page.getByRole("status").filter({ hasText: "Conversation closed" }).waitFor();
  await page.keyboard.press("Control+z");
  await page.getByRole("status").filter({ hasText: "it never reached the server" }).waitFor();
  // Nothing waits for the server: the close left the journal.
  await page.getByTestId("waiting").waitFor({ state: "detached" });
  await w.restartServer();
  await page.getByTestId("connection").getByText(/^Online$/).waitFor({ timeout: 30_000 });
  const after = await atServer("Vera Volta");
  assert.deepEqual(triageState(after.conversation), triageState(before.conversation), "as it was");
  assert.ok(!after.events.includes("closed"), `no close at the server: ${after.events}`);
  assert.deepEqual(page.errors, []);
  await page.context().close();
});

test("links in messages open outside the app, for web, mail and phone only", async () => {
  await w.customerWrites("whatsapp", "5511977770004", "Rastreio: https://loja.example/pedido?id=42 ou ajuda@loja.example. Não clique: javascript:alert(1)", "Lia Links");
  const page = await w.page();
  // The page the link opens, served here (the machine has no internet).
  await page.context().route("https://loja.example/**", (route) => route.fulfill({ status: 200, contentType: "text/html", body: "<title>Pedido 42</title>" }));
  await signIn(page, w);
  await page.locator(".row", { hasText: "Lia Links" }).click();
  const bubble = page.locator(".timeline .bubble", { hasText: "Rastreio" });
  await bubble.waitFor();
  const links = await bubble.locator("a").evaluateAll((a) => a.map((l) => [l.textContent, l.getAttribute("href"), l.rel]));
  assert.deepEqual(links, [
    ["https://loja.example/pedido?id=42", "https://loja.example/pedido?id=42", "noopener noreferrer nofollow"],
    ["ajuda@loja.example", "mailto:ajuda@loja.example", "noopener noreferrer nofollow"],
  ]);
  assert.match(await bubble.locator(".text").innerText(), /Não clique: javascript:alert\(1\)/, "the rest stays text");
  const app = page.url();
  const [opened] = await Promise.all([page.waitForEvent("popup"), bubble.getByRole("link", { name: "https://loja.example/pedido?id=42" }).click()]);
  await opened.waitForLoadState();
  assert.equal(opened.url(), "https://loja.example/pedido?id=42");
  assert.equal(await opened.evaluate(() => window.opener), null, "the new page cannot reach the app");
  assert.equal(page.url(), app, "the app stays where it was");
  assert.deepEqual(page.errors, []);
  await page.context().close();
});


test("a pasted image and a dropped file are attached and sent", async () => {
  await w.customerWrites("web_chat", "visitante_paste", "Manda o print?", "Pedro Paste");
  const page = await w.page();
  await signIn(page, w);
  await page.locator(".row", { hasText: "Pedro Paste" }).click();
  const pane = page.locator("section.conversation");
  const image = png(64, 48, [200, 40, 40]);
  // A screenshot on the clipboard, pasted into the composer.
  await pane.locator(".composer textarea").evaluate((area, bytes) => {
    const data = new DataTransfer();
    data.items.add(new File([new Uint8Array(bytes)], "image.png", { type: "image/png" }));
    area.dispatchEvent(new ClipboardEvent("paste", { clipboardData: data, bubbles: true, cancelable: true }));
  }, [...image]);
  const staged = pane.getByRole("list", { name: "Files to send" });
  await staged.getByText("image.png").waitFor();
  // A document dragged from the desktop onto the composer.
  await pane.locator(".composer-box").evaluate((box) => {
    const data = new DataTransfer();
    data.items.add(new File(["%PDF-1.4\nrecibo"], "recibo.pdf", { type: "application/pdf" }));
    box.dispatchEvent(new DragEvent("dragover", { dataTransfer: data, bubbles: true, cancelable: true }));
    box.dispatchEvent(new DragEvent("drop", { dataTransfer: data, bubbles: true, cancelable: true }));
  });
  await staged.getByText("recibo.pdf").waitFor();
  await pane.locator(".composer textarea").fill("Segue o print e o recibo");
  await pane.locator(".composer textarea").press("Enter");
  const sent = await w.atServer("the message with both files", (feed) =>
    feed.find((c) => c.entity?.type === "message" && c.entity.data?.text === "Segue o print e o recibo" && c.entity.data.attachments.length === 2),
  );
  assert.deepEqual(sent.entity.data.attachments.map((a) => [a.name, a.mime]), [["image.png", "image/png"], ["recibo.pdf", "application/pdf"]]);
  // A file dropped outside the composer is not opened (the page stays).
  const app = page.url();
  await page.locator("section.list").evaluate((list) => {
    const data = new DataTransfer();
    data.items.add(new File(["x"], "stray.txt", { type: "text/plain" }));
    list.dispatchEvent(new DragEvent("drop", { dataTransfer: data, bubbles: true, cancelable: true }));
  });
  assert.equal(page.url(), app);
  assert.deepEqual(page.errors, []);
  await page.context().close();
});
