import { describe, expect, it } from "vitest";
import { uuidv7 } from "./ids";
import { initials, when } from "./format";
import { systemLanguage } from "../i18n";

describe("uuidv7", () => {
  it("is a version 7, variant 1 UUID whose first 48 bits are the time", () => {
    const id = uuidv7(0x0190_1234_5678, new Uint8Array(10).fill(0xff));
    expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(id.replace(/-/g, "").slice(0, 12)).toBe("019012345678");
  });
  it("sorts by time", () => {
    const a = uuidv7(1_000);
    const b = uuidv7(2_000);
    expect(a < b).toBe(true);
  });
});

describe("format", () => {
  it("takes initials of the first and last names, whatever the script", () => {
    expect(initials("Ana Lima")).toBe("AL");
    expect(initials("Íris de Souza Nuñez")).toBe("ÍN");
    expect(initials("  ")).toBe("");
    expect(initials("👩🏽‍💻 Bia")).toBe("B");
    expect(initials("5521988887777")).toBe(""); // a number is no name
    expect(initials("+55 11 98888-7777")).toBe("");
  });
  it("shows today's time, this week's weekday, older dates", () => {
    const now = new Date(2026, 10, 21, 15, 0).getTime();
    expect(when(new Date(2026, 10, 21, 9, 5).getTime(), now, "en")).toMatch(/09:05/);
    expect(when(new Date(2026, 10, 19, 9, 5).getTime(), now, "en")).toBe("Thu");
    expect(when(new Date(2026, 9, 1).getTime(), now, "en")).toMatch(/Oct/);
  });
});

describe("language", () => {
  it("follows the system: Brazilian and European Portuguese, any Spanish, English otherwise", () => {
    expect(systemLanguage(["pt-BR"])).toBe("pt-BR");
    expect(systemLanguage(["pt-PT"])).toBe("pt-BR");
    expect(systemLanguage(["es-AR", "en"])).toBe("es");
    expect(systemLanguage(["fr-FR", "de"])).toBe("en");
  });
});

import { fillVariables, loadQuickReplies } from "./quickReplies";

describe("quick replies", () => {
  const contact = { name: "  Ana Beatriz Lima " } as never;
  const agent = { name: "Pedro García" } as never;
  it("fill the contact's first name, full name and the agent's first name; unknown variables stay", () => {
    expect(fillVariables("Oi {first_name}, sou {agent}. ({name}) {unknown}", contact, agent)).toBe("Oi Ana, sou Pedro. (Ana Beatriz Lima) {unknown}");
    expect(fillVariables("Oi {first_name}!", null, null)).toBe("Oi !");
  });
  it("come from storage, or the defaults when it holds nothing usable", () => {
    const saved = [{ title: "A", text: "B" }];
    expect(loadQuickReplies({ getItem: () => JSON.stringify(saved) }, [])).toEqual(saved);
    expect(loadQuickReplies({ getItem: () => "not json" }, [{ title: "Oi", text: "Oi!" }])).toEqual([{ title: "Oi", text: "Oi!" }]);
    expect(loadQuickReplies({ getItem: () => JSON.stringify([{ title: 1 }]) }, [])).toEqual([]);
  });
});

describe("notification settings", () => {
  it("turns times of day into minutes and back", async () => {
    const { toTime, fromTime } = await import("./notify");
    expect(toTime(21 * 60 + 30)).toBe("21:30");
    expect(toTime(0)).toBe("00:00");
    expect(fromTime("07:15")).toBe(7 * 60 + 15);
    expect(fromTime("nonsense")).toBe(0);
    expect(fromTime("99:99")).toBe(23 * 60 + 59);
  });
  it("offers do-not-disturb for an hour, the rest of the day, and until tomorrow morning", async () => {
    const { dndPresets } = await import("./notify");
    const morning = new Date(2026, 10, 21, 9, 0);
    expect(dndPresets(morning).map((p) => p.key)).toEqual(["hour", "evening", "tomorrow"]);
    expect(new Date(dndPresets(morning)[2]!.until).getHours()).toBe(8);
    expect(new Date(dndPresets(morning)[2]!.until).getDate()).toBe(22);
    // Late in the day there is no "until 18:00".
    expect(dndPresets(new Date(2026, 10, 21, 17, 30)).map((p) => p.key)).toEqual(["hour", "tomorrow"]);
  });
});

import i18n from "../i18n";
import { failureOf } from "./failure";

describe("a provider's failure", () => {
  const failed = (key: string, params: Record<string, string> = {}) => ({
    id: "m1",
    failure: "(#131047) Re-engagement message: Message failed to send because more than 24 hours have passed.",
    failure_reason: { key, params },
  });

  it("is said in the agent's language from its reason", async () => {
    await i18n.changeLanguage("pt-BR");
    expect(failureOf(failed("whatsapp_131047"), [])).toMatch(/mais de 24 horas/);
    await i18n.changeLanguage("es");
    expect(failureOf(failed("telegram_blocked"), [])).toMatch(/bloqueó el bot/);
    await i18n.changeLanguage("en");
    expect(failureOf(failed("provider_error", { provider: "WhatsApp", code: "131999", detail: "Something new" }), [])).toBe(
      "WhatsApp refused it (code 131999): Something new",
    );
  });

  it("falls back to the provider's own words for a reason the interface does not know", async () => {
    await i18n.changeLanguage("en");
    expect(failureOf(failed("whatsapp_999999"), [])).toMatch(/^\(#131047\) Re-engagement/);
  });
});

import { dayLabel, dayOf } from "./format";

describe("the timeline's days", () => {
  const now = new Date(2026, 11, 3, 15, 0).getTime();
  it("says today and yesterday in the agent's language, else the date", () => {
    expect(dayLabel(new Date(2026, 11, 3, 8, 0).getTime(), now, "en")).toBe("Today");
    expect(dayLabel(new Date(2026, 11, 2, 23, 59).getTime(), now, "pt-BR")).toBe("Ontem");
    expect(dayLabel(new Date(2026, 11, 3, 0, 1).getTime(), now, "es")).toBe("Hoy");
    expect(dayLabel(new Date(2026, 0, 1, 12, 0).getTime(), now, "pt-BR")).toBe("Quinta-feira, 1 de janeiro de 2026");
    expect(dayLabel(new Date(2026, 0, 1, 12, 0).getTime(), now, "en")).toBe("Thursday, January 1, 2026");
  });
  it("tells days apart by the local calendar", () => {
    expect(dayOf(new Date(2026, 11, 3, 0, 0).getTime())).toBe(dayOf(new Date(2026, 11, 3, 23, 59).getTime()));
    expect(dayOf(new Date(2026, 11, 3, 0, 0).getTime())).not.toBe(dayOf(new Date(2026, 11, 2, 23, 59).getTime()));
  });
});

import type { Call } from "../generated/outpost";
import { callPreview } from "./calls";

describe("callPreview", () => {
  const call = (over: Partial<Call>): Call => ({
    id: "c", conversation_id: "v", contact_id: "k", channel: "whatsapp", channel_id: null, provider_id: "wacid.1",
    direction: "incoming", started_at: 0, answered_at: null, ended_at: null, duration_secs: null,
    outcome: "ongoing", failure: null, failure_reason: null, ...over,
  });
  it("says what became of the conversation's newest call, in the agent's language", () => {
    const en = i18n.getFixedT("en");
    expect(callPreview(call({ outcome: "missed" }), en)).toBe("Missed call");
    expect(callPreview(call({ outcome: "missed", direction: "outgoing" }), en)).toBe("Call not answered");
    expect(callPreview(call({ outcome: "answered", duration_secs: 192 }), en)).toBe("Call · 3 min 12 s");
    expect(callPreview(call({ outcome: "failed" }), en)).toBe("Call failed");
    expect(callPreview(call({}), en)).toBe("Call in progress");
    expect(callPreview(call({ outcome: "missed" }), i18n.getFixedT("pt-BR"))).toBe("Ligação perdida");
    expect(callPreview(call({ outcome: "answered", duration_secs: 45 }), i18n.getFixedT("es"))).toBe("Llamada · 45 s");
  });
});
