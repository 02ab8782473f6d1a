import { useState } from "react";
import { useTranslation } from "react-i18next";
import { Modal } from "./Modal";
import { describe } from "../lib/reasons";
import type { Bridge } from "../bridge";
import type { Attachment } from "../generated/outpost";
import { download, formatSize, previewable, useImageUrl } from "../lib/files";
import { Icon } from "./Icon";

/** A message's files: raster images as previews, everything else as a named download. */
export function Attachments({ bridge, message, files, locale, onError }: { bridge: Bridge; message: string; files: Attachment[]; locale: string; onError: (e: string) => void }) {
  if (files.length === 0) return null;
  return (
    <ul className="attachments">
      {files.map((a) => (
        <li key={a.url}>{previewable(a) ? <ImageFile bridge={bridge} message={message} a={a} locale={locale} onError={onError} /> : <FileChip bridge={bridge} message={message} a={a} locale={locale} onError={onError} />}</li>
      ))}
    </ul>
  );
}

function save(bridge: Bridge, message: string, a: Attachment, onError: (e: string) => void) {
  download(bridge, message, a).catch((e: unknown) => onError(describe(e)));
}

type FileProps = { bridge: Bridge; message: string; a: Attachment; locale: string; onError: (e: string) => void };

function FileChip({ bridge, message, a, locale, onError }: FileProps) {
  const { t } = useTranslation();
  return (
    <button type="button" className="file-chip" onClick={() => save(bridge, message, a, onError)} aria-label={t("attachment.download", { name: a.name })}>
      <Icon name={a.kind} />
      <span className="name" dir="auto">{a.name}</span>
      <span className="size">{formatSize(a.size, locale)}</span>
    </button>
  );
}

function ImageFile({ bridge, message, a, locale, onError }: FileProps) {
  const { t } = useTranslation();
  const { url, failed } = useImageUrl(bridge, message, a);
  const [viewing, setViewing] = useState(false);
  if (failed) return <FileChip bridge={bridge} message={message} a={a} locale={locale} onError={onError} />;
  return (
    <>
      <button type="button" className="image-file" onClick={() => url && setViewing(true)} title={a.name} aria-label={t("attachment.view", { name: a.name })}>
        {url ? <img src={url} alt={a.name} /> : <span className="placeholder" aria-label={a.name} />}
      </button>
      {viewing && url && <ImageViewer url={url} a={a} onDownload={() => save(bridge, message, a, onError)} onClose={() => setViewing(false)} />}
    </>
  );
}

/** A picture at the size the window allows, with its name, a download and a way back (Esc too). */
function ImageViewer({ url, a, onDownload, onClose }: { url: string; a: Attachment; onDownload: () => void; onClose: () => void }) {
  const { t } = useTranslation();
  return (
    <Modal onClose={onClose} label={a.name} backdrop="image-viewer">
      <figure>
        <img src={url} alt={a.name} />
        <figcaption>
          <span className="name" dir="auto">{a.name}</span>
          <span className="buttons">
            <button type="button" onClick={onDownload}>{t("attachment.download", { name: a.name })}</button>
            <button type="button" data-autofocus onClick={onClose}>{t("attachment.close")}</button>
          </span>
        </figcaption>
      </figure>
    </Modal>
  );
}
