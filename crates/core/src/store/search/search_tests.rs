use outpost_protocol::*;

use super::*;
use crate::testing::*;

fn fixture_with(texts: &[&str]) -> (Fixture, Conversation, Vec<Message>) {
    let me = agent("Ana", Role::Admin, Visibility::Unrestricted, vec![]);
    let mut f = Fixture::new(&me);
    let mut k = contact("João Gonçalves");
    k.email = "joao.goncalves@mail.example".into();
    let mut c = conversation(&k, T0);
    let mut entities = vec![Entity::Contact(k)];
    let mut messages = Vec::new();
    for (i, t) in texts.iter().enumerate() {
        let m = incoming(&c, t, T0 + i as i64 * MINUTE);
        rules::on_incoming(&mut c, &m);
        messages.push(m.clone());
        entities.push(Entity::Message(m));
    }
    entities.push(Entity::Conversation(c.clone()));
    f.server_upsert(entities);
    (f, c, messages)
}

fn texts(results: &SearchResults) -> Vec<&str> {
    results
        .messages
        .iter()
        .map(|h| h.message.text.as_str())
        .collect()
}

#[test]
fn test_search_ignores_accents_and_case() {
    let (f, _, _) = fixture_with(&[
        "Não recebi o pedido",
        "nao sei",
        "PEDIDO atrasado",
        "outra coisa",
    ]);
    assert_eq!(
        texts(&f.store().search("nao", 10).unwrap()),
        vec!["nao sei", "Não recebi o pedido"]
    );
    assert_eq!(
        texts(&f.store().search("NÃO", 10).unwrap()),
        vec!["nao sei", "Não recebi o pedido"]
    );
    assert_eq!(
        texts(&f.store().search("pedido", 10).unwrap()),
        vec!["PEDIDO atrasado", "Não recebi o pedido"]
    );
}

#[test]
fn test_search_is_newest_first_with_a_limit_and_a_prefix() {
    let many: Vec<String> = (0..30).map(|i| format!("reembolso número {i}")).collect();
    let refs: Vec<&str> = many.iter().map(String::as_str).collect();
    let (f, _, _) = fixture_with(&refs);
    let hits = f.store().search("reemb", 5).unwrap();
    assert_eq!(
        texts(&hits),
        vec![
            "reembolso número 29",
            "reembolso número 28",
            "reembolso número 27",
            "reembolso número 26",
            "reembolso número 25"
        ]
    );
    assert_eq!(hits.messages[0].contact_name, "João Gonçalves");
}

#[test]
fn test_search_finds_contacts_by_name_phone_and_email() {
    let (f, c, _) = fixture_with(&["oi"]);
    for q in ["joao", "Gonçalves", "5511987", "joao.goncalves"] {
        let hits = f.store().search(q, 10).unwrap();
        assert_eq!(hits.contacts.len(), 1, "{q}");
        assert_eq!(hits.contacts[0].conversation_id, Some(c.id));
    }
    assert!(f.store().search("Beatriz", 10).unwrap().contacts.is_empty());
}

#[test]
fn test_search_syntax_typed_by_the_agent_is_text_not_a_query() {
    let (f, _, _) = fixture_with(&[
        "pedido OR cancelado",
        "promoção \"black friday\"",
        "NEAR(a b)",
    ]);
    for q in [
        "\"",
        "OR",
        "NEAR(",
        "*",
        "a AND",
        "-",
        "col:valor",
        "\"black",
        "^pedido",
        "(((",
    ] {
        f.store()
            .search(q, 10)
            .unwrap_or_else(|e| panic!("{q}: {e}"));
    }
    assert_eq!(
        texts(&f.store().search("\"black friday\"", 10).unwrap()),
        vec!["promoção \"black friday\""]
    );
    assert_eq!(fts_query("a \"b"), Some("\"a\" \"\"\"b\"*".into()));
    assert_eq!(fts_query("  ...  "), None);
    // Messages: a last word shorter than three letters is that word, not every word it begins.
    assert_eq!(message_fts_query("p"), Some("\"p\"".into()));
    assert_eq!(message_fts_query("pe"), Some("\"pe\"".into()));
    assert_eq!(message_fts_query("ped"), Some("\"ped\"*".into()));
    assert_eq!(message_fts_query("não"), Some("\"não\"*".into()));
    assert_eq!(
        message_fts_query("pedido a"),
        Some("\"pedido\" \"a\"".into())
    );
    assert_eq!(fts_query("p"), Some("\"p\"*".into()));
}

#[test]
fn test_edits_and_deletes_update_the_index() {
    let (mut f, _, messages) = fixture_with(&["primeira versão", "arquivar depois"]);
    let mut edited = messages[0].clone();
    edited.text = "segunda versão".into();
    f.server_upsert(vec![Entity::Message(edited)]);
    assert!(
        f.store()
            .search("primeira", 10)
            .unwrap()
            .messages
            .is_empty()
    );
    assert_eq!(f.store().search("segunda", 10).unwrap().messages.len(), 1);
    f.act(Action::Archive {
        message_ids: vec![messages[1].id],
    })
    .unwrap();
    assert_eq!(
        f.store().search("arquivar", 10).unwrap().messages.len(),
        1,
        "archived messages stay searchable"
    );
    f.act(Action::DeleteArchived {
        message_ids: vec![messages[1].id],
    })
    .unwrap();
    assert!(
        f.store()
            .search("arquivar", 10)
            .unwrap()
            .messages
            .is_empty()
    );
    f.check_invariants();
}

#[test]
fn test_search_waits_for_a_deferred_index() {
    let me = agent("Ana", Role::Admin, Visibility::Unrestricted, vec![]);
    let f = Fixture::new(&me);
    let mut g = crate::generate::Generator::new(crate::generate::Spec::small(T0));
    while let Some(page) = g.next_page(1_000) {
        f.client.ingest(&page, crate::IndexMode::Deferred).unwrap();
    }
    let pending = f.store().search(crate::generate::COMMON_WORD, 10).unwrap();
    assert!(pending.index_pending);
    assert!(pending.messages.is_empty());
    f.store().finish_bulk_load().unwrap();
    let done = f.store().search(crate::generate::COMMON_WORD, 10).unwrap();
    assert!(!done.index_pending);
    assert_eq!(done.messages.len(), 10);
    f.check_invariants();
}
