// English, Portuguese (Brazil) and Spanish. The system language decides unless the agent chose
// one (kept in this window's storage).
import i18n from "i18next";
import { initReactI18next } from "react-i18next";
import en from "./en.json";
import es from "./es.json";
import ptBR from "./pt-BR.json";

export const LANGUAGES = [
  { code: "en", name: "English" },
  { code: "pt-BR", name: "Português (Brasil)" },
  { code: "es", name: "Español" },
] as const;

export function systemLanguage(languages: readonly string[]): string {
  for (const l of languages) {
    const lower = l.toLowerCase();
    if (lower.startsWith("pt")) return "pt-BR";
    if (lower.startsWith("es")) return "es";
    if (lower.startsWith("en")) return "en";
  }
  return "en";
}

export function chosenLanguage(): string {
  return localStorage.getItem("outpost-language") ?? systemLanguage(navigator.languages ?? [navigator.language]);
}

export function chooseLanguage(code: string) {
  localStorage.setItem("outpost-language", code);
  void i18n.changeLanguage(code);
  document.documentElement.lang = code;
}

void i18n.use(initReactI18next).init({
  resources: { en: { translation: en }, "pt-BR": { translation: ptBR }, es: { translation: es } },
  lng: chosenLanguage(),
  fallbackLng: "en",
  interpolation: { escapeValue: false }, // React escapes; text is never HTML
});

export default i18n;
