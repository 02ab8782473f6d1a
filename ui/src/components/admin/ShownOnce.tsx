import { useTranslation } from "react-i18next";

/** A secret or a link shown this once (it cannot be read back): the sentence, the value to copy. */
export function ShownOnce({ sentence, value, onKept }: { sentence: string; value: string; onKept: () => void }) {
  const { t } = useTranslation();
  return (
    <div role="status" className="once">
      <p>{sentence}</p>
      <code className="copyable">{value}</code>
      <button type="button" onClick={onKept}>{t("admin.secretKept")}</button>
    </div>
  );
}
