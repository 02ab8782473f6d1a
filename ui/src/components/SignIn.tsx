import { useEffect, useState, type FormEvent } from "react";
import { useTranslation } from "react-i18next";
import { ask, type Bridge } from "../bridge";
import { describe } from "../lib/reasons";
import type { Account, SessionInfo } from "../generated/outpost";

/** The demo server `cargo xtask run` starts (and `outpost-server demo` serves). */
export const DEMO_SERVER = "http://127.0.0.1:8750";

export function SignIn({
  bridge,
  account,
  notice,
  onSignedIn,
}: {
  bridge: Bridge;
  account: Account | null;
  notice: string | null;
  onSignedIn: (s: SessionInfo) => void;
}) {
  const { t } = useTranslation();
  const [server, setServer] = useState(account?.server ?? DEMO_SERVER);
  const [email, setEmail] = useState(account?.email ?? "");
  const [password, setPassword] = useState("");
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [inviting, setInviting] = useState(false);
  if (inviting) return <AcceptInvite bridge={bridge} onSignedIn={onSignedIn} onBack={() => setInviting(false)} />;
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      const r = await ask(bridge, { type: "sign_in", server, email, password }, "session");
      onSignedIn(r.session);
    } catch (err) {
      setError(describe(err));
    } finally {
      setBusy(false);
      setPassword("");
    }
  };
  return (
    <main className="sign-in">
      <form onSubmit={submit} aria-labelledby="sign-in-title">
        <div className="brand" aria-hidden="true">Outpost</div>
        <h1 id="sign-in-title">{t("signIn.title")}</h1>
        {notice && <p className="notice" role="status">{notice}</p>}
        <label>
          {t("signIn.server")}
          <input name="server" type="url" required value={server} onChange={(e) => setServer(e.target.value)} autoComplete="url" />
        </label>
        {server !== DEMO_SERVER && (
          <button type="button" className="link" onClick={() => setServer(DEMO_SERVER)}>
            {t("signIn.demo")}
          </button>
        )}
        {/* The sign-in form is the whole page: the field to fill first takes the focus, as on every
            sign-in page (the email, or the password when the account is known). */}
        <label>
          {t("signIn.email")}
          {/* eslint-disable-next-line jsx-a11y/no-autofocus */}
          <input name="email" type="email" required value={email} onChange={(e) => setEmail(e.target.value)} autoComplete="username" autoFocus={!account} />
        </label>
        <label>
          {t("signIn.password")}
          {/* eslint-disable-next-line jsx-a11y/no-autofocus */}
          <input name="password" type="password" required value={password} onChange={(e) => setPassword(e.target.value)} autoComplete="current-password" autoFocus={!!account} />
        </label>
        {error && <p className="error" role="alert">{error}</p>}
        <button type="submit" className="primary" disabled={busy}>
          {busy ? t("signIn.busy") : t("signIn.submit")}
        </button>
        <button type="button" className="link" onClick={() => setInviting(true)}>
          {t("signIn.haveInvite")}
        </button>
        <PrivateCa bridge={bridge} />
      </form>
    </main>
  );
}

/**
 * A business with its own certificate authority: the agent picks its PEM file once, and the app
 * trusts it (besides the system's) from the next connection. Said plainly when it is set.
 */
function PrivateCa({ bridge }: { bridge: Bridge }) {
  const { t } = useTranslation();
  const [open, setOpen] = useState(false);
  const [count, setCount] = useState<number | null>(null);
  const [problem, setProblem] = useState<string | null>(null);
  useEffect(() => {
    void ask(bridge, { type: "trusted_ca" }, "trusted_ca").then((r) => setCount(r.certificates), () => setCount(0));
  }, [bridge]);
  const choose = async (file: File | undefined) => {
    if (!file) return;
    setProblem(null);
    try {
      const r = await ask(bridge, { type: "set_trusted_ca", pem: await file.text() }, "trusted_ca");
      setCount(r.certificates);
    } catch (e) {
      setProblem(describe(e));
    }
  };
  const remove = async () => {
    const r = await ask(bridge, { type: "set_trusted_ca", pem: null }, "trusted_ca");
    setCount(r.certificates);
  };
  if (!open && !count) {
    return (
      <button type="button" className="link" onClick={() => setOpen(true)}>
        {t("signIn.privateCa")}
      </button>
    );
  }
  return (
    <div className="private-ca" role="group" aria-label={t("signIn.privateCa")}>
      {count ? (
        <p>
          {t("signIn.caTrusted", { count })}{" "}
          <button type="button" className="link" onClick={() => void remove()}>{t("signIn.caRemove")}</button>
        </p>
      ) : (
        <label>
          {t("signIn.caFile")}
          <input type="file" accept=".pem,.crt,.cer,application/x-pem-file" onChange={(e) => void choose(e.target.files?.[0])} />
        </label>
      )}
      {problem && <p className="error" role="alert">{problem}</p>}
    </div>
  );
}

/** An invited agent pastes the link an admin sent and chooses their password; then they are in. */
function AcceptInvite({ bridge, onSignedIn, onBack }: { bridge: Bridge; onSignedIn: (s: SessionInfo) => void; onBack: () => void }) {
  const { t } = useTranslation();
  const [link, setLink] = useState("");
  const [password, setPassword] = useState("");
  const [repeat, setRepeat] = useState("");
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    if (password !== repeat) {
      setError(t("account.mismatch"));
      return;
    }
    setBusy(true);
    setError(null);
    try {
      const r = await ask(bridge, { type: "accept_invite", link: link.trim(), password }, "session");
      onSignedIn(r.session);
    } catch (err) {
      setError(describe(err));
    } finally {
      setBusy(false);
    }
  };
  return (
    <main className="sign-in">
      <form onSubmit={submit} aria-labelledby="invite-title">
        <div className="brand" aria-hidden="true">Outpost</div>
        <h1 id="invite-title">{t("signIn.inviteTitle")}</h1>
        <p className="notice">{t("signIn.inviteHint")}</p>
        <label>
          {t("signIn.inviteLink")}
          {/* eslint-disable-next-line jsx-a11y/no-autofocus */}
          <input name="invite" type="url" required value={link} onChange={(e) => setLink(e.target.value)} placeholder="https://outpost.example.com/invite/…" autoFocus />
        </label>
        <label>
          {t("signIn.newPassword")}
          <input name="new-password" type="password" required minLength={10} value={password} onChange={(e) => setPassword(e.target.value)} autoComplete="new-password" />
        </label>
        <label>
          {t("signIn.repeatPassword")}
          <input name="repeat-password" type="password" required value={repeat} onChange={(e) => setRepeat(e.target.value)} autoComplete="new-password" />
        </label>
        {error && <p className="error" role="alert">{error}</p>}
        <button type="submit" className="primary" disabled={busy}>
          {busy ? t("signIn.busy") : t("signIn.acceptInvite")}
        </button>
        <button type="button" className="link" onClick={onBack}>
          {t("signIn.back")}
        </button>
      </form>
    </main>
  );
}
