//! The interface's words for what the core says itself (notifications, the tray's menu, the
//! reasons of refusals shown natively): read from the interface's own translation files
//! (`ui/src/i18n/*.json`, built into the binary), so there is one text per sentence and
//! language, whoever shows it. Keys and `{{name}}` interpolation as i18next has them; a
//! missing key falls back to English, then to the key itself.

use std::collections::BTreeMap;
use std::sync::OnceLock;

use serde_json::Value;

const FILES: [(&str, &str); 3] = [
    ("en", include_str!("../../../ui/src/i18n/en.json")),
    ("pt-BR", include_str!("../../../ui/src/i18n/pt-BR.json")),
    ("es", include_str!("../../../ui/src/i18n/es.json")),
];

fn catalogues() -> &'static BTreeMap<&'static str, Value> {
    static PARSED: OnceLock<BTreeMap<&'static str, Value>> = OnceLock::new();
    PARSED.get_or_init(|| {
        FILES
            .iter()
            .map(|(lang, text)| {
                // The files are the interface's, checked by its build and by this module's
                // test; one that cannot be read leaves that language to English.
                let value = serde_json::from_str(text).unwrap_or_else(|e| {
                    tracing::error!("the {lang} translations cannot be read: {e}");
                    Value::Null
                });
                (*lang, value)
            })
            .collect()
    })
}

/// The catalogue for an interface language ("pt-BR", "pt", "es-AR", "en"…).
fn language(lang: &str) -> &'static str {
    if lang.starts_with("pt") {
        "pt-BR"
    } else if lang.starts_with("es") {
        "es"
    } else {
        "en"
    }
}

fn lookup(lang: &str, key: &str) -> Option<&'static str> {
    let mut at = catalogues().get(lang)?;
    for part in key.split('.') {
        at = at.get(part)?;
    }
    at.as_str()
}

/// The sentence `key` (dotted, as in the JSON) in `lang`, with `{{name}}` filled from `params`.
pub fn t(lang: &str, key: &str, params: &[(&str, &str)]) -> String {
    let text = lookup(language(lang), key)
        .or_else(|| lookup("en", key))
        .unwrap_or(key);
    let mut out = text.to_owned();
    for (name, value) in params {
        out = out.replace(&format!("{{{{{name}}}}}"), value);
    }
    out
}

/// As [`t`], choosing `key_one` or `key_other` by `count` (the plural rule of the three
/// languages), with `{{count}}` filled.
pub fn plural(lang: &str, key: &str, count: u64, params: &[(&str, &str)]) -> String {
    let form = if count == 1 { "one" } else { "other" };
    let n = count.to_string();
    let mut all = vec![("count", n.as_str())];
    all.extend_from_slice(params);
    t(lang, &format!("{key}_{form}"), &all)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_file_reads_and_has_the_native_sentences_in_every_language() {
        for (lang, text) in FILES {
            let v: Value = serde_json::from_str(text).unwrap();
            assert!(v["native"]["tray"]["quit"].is_string(), "{lang}");
        }
        assert_eq!(
            t("es", "native.tray.dndOn", &[]),
            "No molestar durante 1 hora"
        );
        assert_eq!(
            plural("pt-BR", "native.tray.unread", 37, &[]),
            "37 mensagens não lidas"
        );
        assert_eq!(
            plural("en", "native.tray.unread", 1, &[]),
            "1 unread message"
        );
        assert_eq!(
            t("pt", "native.notify.assignedBy", &[("who", "Ana")]),
            "Atribuída a você por Ana"
        );
        // Unknown: English, then the key.
        assert_eq!(
            t("fr", "native.notify.woke", &[]),
            "Snoozed conversation is back"
        );
        assert_eq!(t("en", "no.such.key", &[]), "no.such.key");
    }
}
