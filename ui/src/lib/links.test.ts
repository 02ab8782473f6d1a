import { describe, expect, it } from "vitest";
import { linkify, safeHref } from "./links";

const links = (text: string) => linkify(text).filter((p) => p.href);

describe("links in message text", () => {
  it("finds web, mail and phone links and keeps the rest as text", () => {
    const text = "Veja https://loja.example/pedido?id=42&x=1, ou escreva para ajuda@loja.example (ou tel:+5511999990000). www.loja.example/faq!";
    const pieces = linkify(text);
    expect(pieces.map((p) => p.text).join("")).toBe(text);
    expect(links(text)).toEqual([
      { text: "https://loja.example/pedido?id=42&x=1", href: "https://loja.example/pedido?id=42&x=1" },
      { text: "ajuda@loja.example", href: "mailto:ajuda@loja.example" },
      { text: "tel:+5511999990000", href: "tel:+5511999990000" },
      { text: "www.loja.example/faq", href: "https://www.loja.example/faq" },
    ]);
  });

  it("keeps a parenthesis that belongs to the link", () => {
    expect(links("see https://en.wikipedia.org/wiki/Rust_(language).")[0]!.href).toBe("https://en.wikipedia.org/wiki/Rust_(language)");
  });

  it("never makes a link of another scheme", () => {
    for (const text of ["javascript:alert(1)", "data:text/html,<script>alert(1)</script>", "file:///etc/passwd", "vbscript:msgbox", "outpost://conversation/x", "ftp://files.example/a"]) {
      expect(links(text)).toEqual([]);
      expect(linkify(text).map((p) => p.text).join("")).toBe(text);
    }
    expect(safeHref("JaVaScRiPt:alert(1)")).toBeNull();
    expect(safeHref("tel:javascript:alert(1)")).toBeNull();
    expect(safeHref("https://")).toBeNull();
  });

  it("leaves text without links alone", () => {
    expect(linkify("Olá, tudo bem?")).toEqual([{ text: "Olá, tudo bem?" }]);
    expect(linkify("")).toEqual([]);
  });
});
