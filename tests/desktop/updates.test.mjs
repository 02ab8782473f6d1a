// Updates of the real desktop app against a local update server (https on loopback, a test CA):
// the manifest follows Tauri's updater format (https://v2.tauri.app/plugin/updater/: "version",
// "notes", "pub_date", "platforms" → "linux-x86_64" → "url", "signature"), signed as the Tauri
// signer signs (minisign, https://jedisct1.github.io/minisign/: Ed25519 over the BLAKE2b-512 of
// the file, "ED"; a global signature over the trusted comment, which carries the version). The
// app (a debug build) takes the test key from OUTPOST_UPDATE_PUBKEY. A tampered bundle and a
// bundle signed for another version are refused and nothing is replaced; a good one replaces
// the AppImage.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { chmodSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { execFileSync } from "node:child_process";
import { createHash, generateKeyPairSync, randomBytes, sign } from "node:crypto";
import { createServer } from "node:https";
import { screenshots } from "../browser/harness.mjs";
import { desktopSession } from "./session.mjs";

let session, app, dir, server;
const OLD = Buffer.from("#!/bin/sh\necho Outpost 0.1.0\n");
const NEW = Buffer.concat([Buffer.from("#!/bin/sh\necho Outpost 0.2.0\n"), randomBytes(4096)]);
/** What the update server answers: the manifest's version, the bytes served, and what was signed. */
let offer = null;

/** A release key as the Tauri signer makes one; `signed(bytes, version)` is a .sig in base64. */
function releaseKey() {
  const { publicKey, privateKey } = generateKeyPairSync("ed25519");
  const id = randomBytes(8);
  const raw = Buffer.from(publicKey.export({ format: "jwk" }).x, "base64url");
  const pub = `untrusted comment: minisign public key ${id.toString("hex")}\n${Buffer.concat([Buffer.from("Ed"), id, raw]).toString("base64")}\n`;
  return {
    pubkey: Buffer.from(pub).toString("base64"),
    signed(bytes, version) {
      const signature = sign(null, createHash("blake2b512").update(bytes).digest(), privateKey);
      const trusted = `timestamp:${Math.floor(Date.now() / 1000)}\tfile:Outpost_${version}_amd64.AppImage\tversion:${version}`;
      const global = sign(null, Buffer.concat([signature, Buffer.from(trusted)]), privateKey);
      const text = `untrusted comment: signature from tauri secret key\n${Buffer.concat([Buffer.from("ED"), id, signature]).toString("base64")}\ntrusted comment: ${trusted}\n${global.toString("base64")}\n`;
      return Buffer.from(text).toString("base64");
    },
  };
}

/** A CA and a certificate for 127.0.0.1 it issued (openssl), in `dir`. */
function certificates(dir) {
  const ssl = (...args) => execFileSync("openssl", args, { cwd: dir, stdio: "ignore" });
  ssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", "ca.key", "-out", "ca.pem", "-days", "1", "-subj", "/CN=Outpost test CA", "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign");
  ssl("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", "leaf.key", "-out", "leaf.csr", "-subj", "/CN=127.0.0.1");
  writeFileSync(join(dir, "leaf.ext"), "subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n");
  ssl("x509", "-req", "-in", "leaf.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial", "-out", "leaf.pem", "-days", "1", "-extfile", "leaf.ext");
  return { ca: join(dir, "ca.pem"), key: readFileSync(join(dir, "leaf.key")), cert: readFileSync(join(dir, "leaf.pem")) };
}

const key = releaseKey();

before(async () => {
  session = await desktopSession("updates", {
    async beforeApp(env, d) {
      dir = d;
      const tls = certificates(dir);
      server = createServer({ key: tls.key, cert: tls.cert }, (req, res) => {
        const base = `https://127.0.0.1:${server.address().port}`;
        if (req.url === "/latest.json" && offer) {
          res.writeHead(200, { "content-type": "application/json" });
          res.end(JSON.stringify({
            version: offer.version,
            notes: "Busca mais rápida",
            pub_date: "2026-12-03T12:00:00Z",
            platforms: { "linux-x86_64": { url: `${base}/Outpost_${offer.version}_amd64.AppImage`, signature: offer.signature } },
          }));
        } else if (req.url.endsWith(".AppImage") && offer) {
          res.writeHead(200, { "content-type": "application/octet-stream" });
          res.end(offer.bytes);
        } else {
          res.writeHead(404);
          res.end();
        }
      });
      await new Promise((r) => server.listen(0, "127.0.0.1", r));
      // The app: this test's release key, the test CA as the system's roots, and an AppImage to replace.
      const appimage = join(dir, "Outpost.AppImage");
      writeFileSync(appimage, OLD);
      chmodSync(appimage, 0o755);
      Object.assign(env, { OUTPOST_UPDATE_PUBKEY: key.pubkey, SSL_CERT_FILE: tls.ca, APPIMAGE: appimage });
      return () => server.close();
    },
  });
  app = session.app;
  await session.signIn();
  await app.execute("[...document.querySelectorAll('.status-bar button')].find((b) => b.textContent === 'This computer').click()");
  // The settings come from the app a moment after the dialog opens.
  await app.waitFor(".desktop-settings input[type=url]");
  const address = await app.find(".desktop-settings input[type=url]");
  await app.type(address, `https://127.0.0.1:${server.address().port}/latest.json`);
  await app.execute("document.querySelector('.desktop-settings button[type=submit]').click()");
  await app.waitFor(".desktop-settings [role=status]", { text: "Saved" });
});

after(async () => {
  await session?.stop();
});

const appimage = () => readFileSync(join(dir, "Outpost.AppImage"));
const click = (label) => app.execute(`[...document.querySelectorAll('.desktop-settings .updates button')].find((b) => b.textContent === ${JSON.stringify(label)}).click()`);
const said = () => app.execute("const u = document.querySelector('.desktop-settings .updates'); return [...u.querySelectorAll('[role=status], [role=alert]')].map((e) => e.textContent).join(' | ')");

test("nothing newer: up to date", async () => {
  offer = { version: "0.1.0", bytes: OLD, signature: key.signed(OLD, "0.1.0") };
  await click("Check for updates");
  await app.waitFor(".desktop-settings .updates [role=status]", { text: "Outpost is up to date." });
});

test("a tampered bundle is found but refused: its signature does not verify, nothing is replaced", async () => {
  const tampered = Buffer.from(NEW);
  tampered[tampered.length - 1] ^= 0xff;
  offer = { version: "0.2.0", bytes: tampered, signature: key.signed(NEW, "0.2.0") };
  await click("Check for updates");
  await app.waitFor(".desktop-settings .updates [role=status]", { text: "Outpost 0.2.0 is available." });
  await click("Install");
  await app.waitFor(".desktop-settings .updates [role=alert]", { text: "The update was not installed" });
  assert.match(await said(), /signature/i);
  assert.deepEqual(appimage(), OLD, "the AppImage is as it was");
});

test("a genuine bundle announced as another version is refused (the signed version is checked)", async () => {
  offer = { version: "0.3.0", bytes: NEW, signature: key.signed(NEW, "0.2.0") };
  await click("Check for updates");
  await app.waitFor(".desktop-settings .updates [role=status]", { text: "Outpost 0.3.0 is available." });
  await click("Install");
  await app.waitFor(".desktop-settings .updates [role=alert]", { text: "The update was not installed" });
  assert.deepEqual(appimage(), OLD);
});

test("a signed update is verified and installed, and a restart is offered", async () => {
  offer = { version: "0.2.0", bytes: NEW, signature: key.signed(NEW, "0.2.0") };
  await click("Check for updates");
  await app.waitFor(".desktop-settings .updates [role=status]", { text: "Outpost 0.2.0 is available." });
  writeFileSync(join(screenshots, "desktop-update-found.png"), await app.screenshot());
  await click("Install");
  await app.waitFor(".desktop-settings .updates [role=status]", { text: "Outpost 0.2.0 is installed" });
  assert.deepEqual(appimage(), NEW, "the AppImage is the new one");
  await app.waitFor(".desktop-settings .updates button", { text: "Restart now" });
});
