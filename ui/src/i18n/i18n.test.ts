import { describe, expect, it } from "vitest";
import en from "./en.json";
import es from "./es.json";
import ptBR from "./pt-BR.json";
import i18n from "./index";
import { phrase } from "../lib/reasons";

/** Every key of a translation file, dotted ("reasons.window_closed"); plural forms as one. */
function keys(value: unknown, at = ""): string[] {
  if (typeof value !== "object" || value === null || Array.isArray(value)) return [at];
  return Object.entries(value).flatMap(([k, v]) => keys(v, at ? `${at}.${k}` : k));
}

describe("the three languages", () => {
  it("have the same sentences (none missing in Portuguese or Spanish)", () => {
    const english = keys(en).sort();
    expect(keys(ptBR).sort()).toEqual(english);
    expect(keys(es).sort()).toEqual(english);
  });

  it("say a refusal from its reason in the agent's language, the English sentence only without one", async () => {
    const reason = { key: "window_closed", params: { channel: "whatsapp" } };
    await i18n.changeLanguage("pt-BR");
    expect(phrase(reason, "The 24-hour window…")).toBe(
      "A janela de 24 horas no whatsapp fechou: o contato escreveu pela última vez há mais de 24 horas, então só um modelo aprovado pode ser enviado.",
    );
    await i18n.changeLanguage("es");
    expect(phrase({ key: "agent_away", params: { name: "Ana" } }, "Ana is away")).toBe("Ana está ausente y no recibe nuevas asignaciones.");
    // No reason (an older server), or one this interface does not know: the sentence as sent.
    expect(phrase(null, "As sent")).toBe("As sent");
    expect(phrase({ key: "from_the_future", params: {} }, "As sent")).toBe("As sent");
    await i18n.changeLanguage("en");
  });
});
