// The Admin area in a real browser against the real server: channels (a test channel is marked
// as one; a new one's secret is shown once; no ticks without a provider), an agent invited who
// signs in with the link, then disabled: their session ends at once.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { OWNER, shot, signIn, world } from "./harness.mjs";

let w;
before(async () => {
  w = await world();
});
after(async () => {
  await w?.stop();
});

/** The owner's token, for what the test checks at the server. */
async function ownerToken() {
  return (await w.login(OWNER)).token;
}

test("admin area: channels, an invited agent who signs in with the link, disabled: their session ends", async () => {
  const page = await w.page();
  await signIn(page, w);
  await page.getByRole("navigation").getByRole("button", { name: "Admin" }).click();
  const area = page.locator("section.admin");
  await area.getByRole("tab", { name: "Channels" }).waitFor();

  // The demo's channels are test channels, and say so.
  const whatsapp = area.locator("tr", { hasText: "Loja Demo WhatsApp" });
  await whatsapp.getByText("test channel").waitFor();

  // A web chat for the business's site: its tag to embed, and its secret shown once.
  const form = area.getByRole("form", { name: "Add a channel" });
  await form.getByLabel("Kind").selectOption("web_chat");
  await form.getByLabel("Name", { exact: true }).fill("Site da loja");
  await form.getByLabel(/Sites allowed to embed it/).fill("https://loja.example");
  await form.getByRole("button", { name: "Add" }).click();
  const once = area.getByRole("status").filter({ hasText: "shown this once" });
  await once.waitFor();
  assert.match(await once.locator("code").innerText(), /^[0-9a-f]{64}$/);
  const site = area.locator("tr", { hasText: "Site da loja" });
  await site.getByText(/<script src=".*\/widget\/.*\.js" async><\/script>/).waitFor();
  assert.equal(await site.getByText("test channel").count(), 0, "a real channel is not marked as a test one");
  await shot(page, "admin-channels");
  await once.getByRole("button", { name: "I have kept it" }).click();
  // Its settings change later: a second site may embed it.
  await site.getByRole("button", { name: "Edit" }).click();
  const edit = area.getByRole("form", { name: "Settings of Site da loja" });
  await edit.getByLabel(/Sites allowed to embed it/).fill("https://loja.example\nhttps://www.loja.example");
  await edit.getByRole("button", { name: "Save" }).click();
  await edit.waitFor({ state: "detached" });
  {
    const token = await ownerToken();
    const all = await (await fetch(`${w.base}/v1/admin/channels`, { headers: { authorization: `Bearer ${token}` } })).json();
    const saved = all.find((c) => c.channel.name === "Site da loja");
    assert.deepEqual(saved.settings.allowed_origins, ["https://loja.example", "https://www.loja.example"]);
  }

  // Email: the demo's test channel turned off, a real one added. A message by email then waits
  // for its provider: no tick is invented.
  await area.locator("tr", { hasText: "atendimento@loja.example" }).getByRole("button", { name: "Disable" }).click();
  await area.locator("tr", { hasText: "atendimento@loja.example" }).getByText("Disabled").waitFor();
  await form.getByLabel("Kind").selectOption("email");
  await form.getByLabel("Name", { exact: true }).fill("contato@loja.example");
  for (const [label, value] of [
    ["Email address", "contato@loja.example"],
    ["IMAP server", "imap.loja.example"],
    ["SMTP server", "smtp.loja.example"],
    ["User name", "contato"],
    ["Password", "senha-do-email-123"],
  ]) {
    await form.getByLabel(label, { exact: true }).fill(value);
  }
  await form.getByLabel("SMTP security").selectOption("starttls");
  await form.scrollIntoViewIfNeeded();
  await shot(page, "admin-channel-email-form");
  await form.getByRole("button", { name: "Add" }).click();
  await area.getByRole("status").filter({ hasText: "shown this once" }).getByRole("button", { name: "I have kept it" }).click();
  const mail = area.locator("tr", { hasText: "contato@loja.example" });
  await mail.getByText(/Saved credentials: Password/).waitFor();
  assert.ok(!(await area.innerText()).includes("senha-do-email-123"), "a credential never comes back");

  // Agents: an invitation.
  await area.getByRole("tab", { name: "Agents" }).click();
  const invite = area.getByRole("form", { name: "Invite an agent" });
  await invite.getByLabel("Name", { exact: true }).fill("Rita Nova");
  await invite.getByLabel("Email", { exact: true }).fill("rita.nova@outpost.example");
  await invite.getByLabel("Sees").selectOption("unrestricted");
  await invite.getByRole("button", { name: "Make the invitation" }).click();
  const link = await area.getByRole("status").filter({ hasText: "The invitation for Rita Nova" }).locator("code").innerText();
  assert.match(link, /^http:\/\/127\.0\.0\.1:\d+\/invite\/[0-9a-f]{64}$/);
  await area.locator("tr", { hasText: "rita.nova@outpost.example" }).getByText("Invited").waitFor();
  await shot(page, "admin-agents");

  // The Outbox: the message written by email is pending, never ticked.
  await page.getByRole("navigation").getByRole("button", { name: /^All/ }).click();
  await page.getByRole("button", { name: "New conversation" }).click();
  const writing = page.getByRole("dialog");
  await writing.getByLabel("Channel").selectOption("email");
  await writing.getByLabel("Username or address").fill("cliente@exemplo.com");
  await writing.getByLabel("First message").fill("Olá! Recebemos seu pedido.");
  await writing.getByRole("button", { name: "Start" }).click();
  await page.waitForTimeout(4_000);
  await page.getByRole("navigation").getByRole("button", { name: /^Outbox/ }).click();
  const row = page.locator(".folder-row", { hasText: "Recebemos seu pedido" });
  await row.waitFor();
  assert.match(await row.getAttribute("class"), /\bpending\b/);
  await row.getByText(/Email$/).waitFor();

  // The invited agent: signed out here, they paste the link and choose a password.
  await page.getByRole("button", { name: "Sign out" }).click();
  // (On the way: a file that is not a CA's certificate is refused, and nothing is trusted.)
  await page.getByRole("button", { name: "My organisation uses its own certificate authority" }).click();
  await page.getByLabel("Its certificate (PEM file)").setInputFiles({ name: "ca.pem", mimeType: "application/x-pem-file", buffer: Buffer.from("not a certificate") });
  await page.getByRole("alert").filter({ hasText: "not a certificate Outpost can trust" }).waitFor();
  await page.getByRole("button", { name: "I have an invitation" }).click();
  await page.getByLabel("Invitation link").fill(link);
  await page.getByLabel("Your password (at least 10 characters)").fill("a senha da Rita 2026");
  await page.getByLabel("The same password again").fill("a senha da Rita 2026");
  await shot(page, "accept-invite");
  await page.getByRole("button", { name: "Choose password and sign in" }).click();
  await page.locator(".workspace").waitFor({ timeout: 30_000 });
  await page.locator(".status-bar").getByText("Rita Nova").waitFor();
  assert.equal(await page.getByRole("navigation").getByRole("button", { name: "Admin" }).count(), 0, "agents have no Admin area");

  // The owner disables her: her session ends at once.
  const token = await ownerToken();
  const agents = await (await fetch(`${w.base}/v1/admin/agents`, { headers: { authorization: `Bearer ${token}` } })).json();
  const rita = agents.find((a) => a.agent.email === "rita.nova@outpost.example");
  assert.ok(rita && !rita.invited, "she chose her password");
  const r = await fetch(`${w.base}/v1/admin/agents/${rita.agent.id}`, {
    method: "PATCH",
    headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
    body: JSON.stringify({ disabled: true }),
  });
  assert.equal(r.status, 200);
  await page.getByRole("heading", { name: "Sign in to Outpost" }).waitFor({ timeout: 15_000 });
  assert.deepEqual(page.errors, []);
  await page.context().close();

  // Looked at in the dark theme and in Portuguese.
  for (const [locale, scheme, name, admin, tab] of [
    ["en-US", "dark", "admin-channels-dark", "Admin", "Channels"],
    ["pt-BR", "light", "admin-channels-pt", "Administração", "Canais"],
    ["pt-BR", "light", "admin-teams-pt", "Administração", "Equipes"],
  ]) {
    const p = await w.page(locale, scheme);
    await signIn(p, w);
    await p.getByRole("navigation").getByRole("button", { name: admin }).click();
    await p.locator("section.admin").getByRole("tab", { name: tab }).click();
    await p.locator("section.admin table, section.admin form").first().waitFor();
    await shot(p, name);
    await p.context().close();
  }
});
