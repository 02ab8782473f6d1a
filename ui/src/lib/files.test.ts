import { describe, expect, it } from "vitest";
import { blobOf, formatSize, MAX_FILE_BYTES, previewable, readBase64, refusal } from "./files";

describe("attaching files", () => {
  it("refuses more than ten files, a file over 100 MiB or an empty one, naming it", () => {
    const ok = { name: "a.pdf", size: 10 };
    expect(refusal([ok], 0)).toBeNull();
    expect(refusal([ok, ok], 9)).toEqual({ key: "composer.tooManyFiles" });
    expect(refusal([ok, { name: "video.mp4", size: MAX_FILE_BYTES + 1 }], 0)).toEqual({ key: "composer.fileTooBig", name: "video.mp4" });
    expect(refusal([{ name: "vazio.txt", size: 0 }], 0)).toEqual({ key: "composer.fileEmpty", name: "vazio.txt" });
    expect(refusal([{ name: "limite.bin", size: MAX_FILE_BYTES }], 0)).toBeNull();
  });
  it("previews raster images only: an SVG (which can carry script) is a download", () => {
    const up = "/v1/attachments/0190a0b0-0000-7000-8000-000000000000";
    expect(previewable({ mime: "image/png", url: up })).toBe(true);
    expect(previewable({ mime: "IMAGE/JPEG", url: up })).toBe(true);
    expect(previewable({ mime: "image/svg+xml", url: up })).toBe(false);
    expect(previewable({ mime: "application/pdf", url: up })).toBe(false);
    expect(previewable({ mime: "image/png", url: "https://files.example/a.png" })).toBe(false);
  });
  it("gives sizes in the agent's language", () => {
    expect(formatSize(999, "en")).toBe("999 B");
    expect(formatSize(40_007, "en")).toBe("40 KB");
    expect(formatSize(12_500_000, "pt-BR")).toBe("12,5 MB");
  });
  it("round-trips bytes through base64", async () => {
    const bytes = new Uint8Array([0, 1, 2, 250, 255, 128]);
    const b64 = await readBase64(new Blob([bytes]));
    expect(b64).toBe("AAEC+v+A");
    const back = blobOf(b64, "application/pdf");
    expect(back.size).toBe(bytes.length);
    expect(back.type).toBe("application/pdf");
    expect(await readBase64(back)).toBe(b64);
  });
});
