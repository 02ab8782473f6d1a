// Files: attached in the composer (kept by the core, uploaded before their message) and shown in
// the timeline. Bytes cross the bridge in base64. Only raster images are ever previewed (an SVG
// can carry script); everything else is a named download.
import { useEffect, useState } from "react";
import { ask, type Bridge } from "../bridge";
import type { Attachment } from "../generated/outpost";

import { MAX_ATTACHMENT_BYTES, MAX_ATTACHMENTS } from "../generated/limits";

/** As the protocol allows (generated from its limits): the largest file, files a message. */
export const MAX_FILE_BYTES = MAX_ATTACHMENT_BYTES;
export const MAX_FILES = MAX_ATTACHMENTS;

const PREVIEWABLE = new Set(["image/png", "image/jpeg", "image/gif", "image/webp"]);

/** A raster image kept by the Outpost server (what a channel keeps is not fetched from here). */
export function previewable(a: Pick<Attachment, "mime" | "url">): boolean {
  return PREVIEWABLE.has(a.mime.toLowerCase()) && a.url.startsWith("/v1/attachments/");
}

/** "820 KB", "12.5 MB", in the agent's language. */
export function formatSize(bytes: number, lang: string): string {
  const units = ["B", "KB", "MB", "GB"];
  let n = bytes;
  let u = 0;
  while (n >= 1000 && u < units.length - 1) {
    n /= 1000;
    u += 1;
  }
  const digits = u === 0 || n >= 100 ? 0 : 1;
  return `${new Intl.NumberFormat(lang, { maximumFractionDigits: digits }).format(n)} ${units[u]}`;
}

/** Why these files cannot be attached beside `already`, or null when they can. */
export function refusal(files: { name: string; size: number }[], already: number): { key: string; name?: string } | null {
  if (already + files.length > MAX_FILES) return { key: "composer.tooManyFiles" };
  const big = files.find((f) => f.size > MAX_FILE_BYTES);
  if (big) return { key: "composer.fileTooBig", name: big.name };
  const empty = files.find((f) => f.size === 0);
  if (empty) return { key: "composer.fileEmpty", name: empty.name };
  return null;
}

/** A file's bytes in base64, read by the browser itself (no byte-by-byte loop in script). */
export function readBase64(file: Blob): Promise<string> {
  return new Promise((resolve, reject) => {
    const reader = new FileReader();
    reader.onload = () => {
      const url = String(reader.result);
      resolve(url.slice(url.indexOf(",") + 1));
    };
    reader.onerror = () => reject(reader.error ?? new Error("the file could not be read"));
    reader.readAsDataURL(file);
  });
}

export function blobOf(base64: string, mime: string): Blob {
  const raw = atob(base64);
  const bytes = new Uint8Array(raw.length);
  for (let i = 0; i < raw.length; i += 1) bytes[i] = raw.charCodeAt(i);
  return new Blob([bytes], { type: mime });
}

/** Hands files to the core; the answers name them for a message. */
export async function stageFiles(bridge: Bridge, files: File[]): Promise<Attachment[]> {
  const staged: Attachment[] = [];
  for (const f of files) {
    const data = await readBase64(f);
    const r = await ask(bridge, { type: "stage_attachment", name: f.name, mime: f.type || "application/octet-stream", data }, "staged");
    staged.push(r.attachment);
  }
  return staged;
}

/** A file of a message as a blob: from this desktop, or fetched from the server (and then kept on this desktop). */
export async function fetchFile(bridge: Bridge, message: string, a: Attachment): Promise<Blob> {
  const r = await ask(bridge, { type: "get_attachment", message_id: message, url: a.url }, "file");
  // The type the message names wins: the bytes never decide how they are shown.
  return blobOf(r.data, a.mime);
}

/** An object URL of an image attachment for an <img>, made once it is needed, revoked after. */
export function useImageUrl(bridge: Bridge, message: string, a: Attachment): { url: string | null; failed: boolean } {
  const [state, setState] = useState<{ url: string | null; failed: boolean }>({ url: null, failed: false });
  useEffect(() => {
    if (!previewable(a)) return;
    let made: string | null = null;
    let live = true;
    fetchFile(bridge, message, a).then(
      (blob) => {
        if (!live) return;
        made = URL.createObjectURL(blob);
        setState({ url: made, failed: false });
      },
      () => live && setState({ url: null, failed: true }),
    );
    return () => {
      live = false;
      if (made) URL.revokeObjectURL(made);
    };
  }, [bridge, message, a]);
  return state;
}

/** Saves a file where the system puts downloads, under its own name. */
export async function download(bridge: Bridge, message: string, a: Attachment): Promise<void> {
  const blob = await fetchFile(bridge, message, a);
  const url = URL.createObjectURL(blob);
  const link = document.createElement("a");
  link.href = url;
  link.download = a.name;
  link.rel = "noopener";
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 60_000);
}
