import { useState } from "react";
import { useTranslation } from "react-i18next";
import { ask, type Bridge } from "../bridge";
import { Modal } from "./Modal";
import { describe } from "../lib/reasons";

/** The agent's account: a new password (their other desktops are signed out), and signing out everywhere. */
export function AccountDialog({
  bridge,
  email,
  onClose,
  onSignedOut,
}: {
  bridge: Bridge;
  email: string;
  onClose: () => void;
  onSignedOut: () => void;
}) {
  const { t } = useTranslation();
  const [current, setCurrent] = useState("");
  const [next, setNext] = useState("");
  const [repeat, setRepeat] = useState("");
  const [problem, setProblem] = useState<string | null>(null);
  const [changed, setChanged] = useState(false);
  const [busy, setBusy] = useState(false);

  // Said before the server is asked: the same rules it applies (at least 10 characters, not the email).
  const localProblem = (): string | null => {
    if (next.length < 10) return t("account.tooShort");
    if (next.trim().toLowerCase() === email.trim().toLowerCase()) return t("account.notEmail");
    if (next !== repeat) return t("account.mismatch");
    return null;
  };

  const change = async () => {
    const local = localProblem();
    if (local) {
      setProblem(local);
      return;
    }
    setBusy(true);
    setProblem(null);
    try {
      await ask(bridge, { type: "change_password", current, new: next }, "done");
      setChanged(true);
      setCurrent("");
      setNext("");
      setRepeat("");
    } catch (e) {
      setProblem(describe(e));
    } finally {
      setBusy(false);
    }
  };

  const everywhere = async () => {
    setBusy(true);
    try {
      await ask(bridge, { type: "sign_out_everywhere" }, "done");
      onSignedOut();
    } catch (e) {
      setProblem(describe(e));
      setBusy(false);
    }
  };

  return (
    <Modal onClose={onClose} labelledBy="account-title">
      <form
        className="dialog account"
        onSubmit={(e) => {
          e.preventDefault();
          void change();
        }}
      >
        <h2 id="account-title">{t("account.title")}</h2>
        <p className="muted">{email}</p>
        {problem && <p role="alert" className="problem">{problem}</p>}
        {changed && <p role="status" className="done">{t("account.changed")}</p>}
        <fieldset>
          <legend>{t("account.password")}</legend>
          <label>
            {t("account.current")}
            <input type="password" autoComplete="current-password" value={current} onChange={(e) => setCurrent(e.target.value)} required />
          </label>
          <label>
            {t("account.new")}
            <input type="password" autoComplete="new-password" value={next} onChange={(e) => setNext(e.target.value)} required />
          </label>
          <label>
            {t("account.repeat")}
            <input type="password" autoComplete="new-password" value={repeat} onChange={(e) => setRepeat(e.target.value)} required />
          </label>
          <p className="hint">{t("account.rules")}</p>
          <div className="buttons end">
            <button type="submit" className="primary" disabled={busy}>{t("account.change")}</button>
          </div>
        </fieldset>
        <fieldset>
          <legend>{t("account.sessions")}</legend>
          <p className="hint">{t("account.everywhereHint")}</p>
          <div className="buttons end">
            <button type="button" className="danger" disabled={busy} onClick={() => void everywhere()}>
              {t("account.everywhere")}
            </button>
          </div>
        </fieldset>
        <div className="buttons end">
          <button type="button" onClick={onClose}>{t("account.close")}</button>
        </div>
      </form>
    </Modal>
  );
}
