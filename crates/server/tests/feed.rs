//! The change feed under concurrent writers: a reader paging with `after` never misses or
//! reorders a change. For every role, the union of the pages equals the final state that role
//! may see.

// A test or a benchmark: a panic is its report.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::{HashMap, HashSet};

use common::*;
use outpost_protocol::*;

/// What `agent` may see of everything the owner (who sees all) holds.
fn visible_part(all: &Mirror, agent: &Agent) -> HashMap<EntityRef, Entity> {
    let conversations: HashMap<ConversationId, &Conversation> =
        all.conversations().into_iter().map(|c| (c.id, c)).collect();
    let sees = |id: &ConversationId| {
        conversations
            .get(id)
            .is_some_and(|c| rules::may_see(agent, c))
    };
    all.entities
        .iter()
        .filter(|(_, e)| match e {
            Entity::Conversation(c) => rules::may_see(agent, c),
            Entity::Message(m) => sees(&m.conversation_id),
            Entity::Event(ev) => sees(&ev.conversation_id),
            Entity::Call(c) => sees(&c.conversation_id),
            Entity::Contact(k) => conversations
                .values()
                .any(|c| c.contact_id == k.id && rules::may_see(agent, c)),
            Entity::View(v) => v.owner == agent.id || v.sharing.agents.contains(&agent.id),
            Entity::Agent(_) | Entity::Team(_) | Entity::Channel(_) => true,
            Entity::Settings(s) => s.agent_id == agent.id,
        })
        .map(|(r, e)| (*r, e.clone()))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn test_paging_during_concurrent_writes_never_misses_a_change() {
    let h = harness().await;
    let owner = h.login(&h.owner).await;
    let readers = [
        (h.owner.clone(), owner.clone()),
        (h.team_agent.clone(), h.login(&h.team_agent).await),
        (h.own_only.clone(), h.login(&h.own_only).await),
    ];
    // Readers page with small pages while customers and agents write.
    let mut mirrors: Vec<Mirror> = vec![Mirror::default(); readers.len()];
    let agents = [h.owner.id, h.team_agent.id, h.own_only.id, h.other.id];
    let teams = [h.team, h.other_team];
    let mut rng = fastrand::Rng::with_seed(11);
    let mut known: Vec<ConversationId> = Vec::new();
    for round in 0..30 {
        // A burst of concurrent writes: customers writing, agents reassigning and moving teams.
        let mut writes = Vec::new();
        for k in 0..6 {
            let from = format!("55119{:08}", rng.u32(0..12));
            let (http, url) = (
                h.http.clone(),
                h.url(&format!("/v1/channels/{}/inbound", h.channel)),
            );
            writes.push(tokio::spawn(async move {
                let r = http
                    .post(url)
                    .header("x-outpost-channel-secret", SECRET)
                    .json(&serde_json::json!({ "from": from, "text": format!("mensagem {round}.{k}") }))
                    .send()
                    .await
                    .unwrap();
                assert_eq!(r.status(), 200);
            }));
        }
        if !known.is_empty() {
            for _ in 0..3 {
                let c = known[rng.usize(..known.len())];
                let action = if rng.bool() {
                    Action::Assign {
                        conversation_id: c,
                        assignee: rng.bool().then(|| agents[rng.usize(..agents.len())]),
                    }
                } else {
                    Action::SetTeam {
                        conversation_id: c,
                        team: rng.bool().then(|| teams[rng.usize(..2)]),
                    }
                };
                let op = Op {
                    op_id: OpId::new(),
                    at: T0,
                    action,
                };
                let (http, url, token) = (h.http.clone(), h.url("/v1/ops"), owner.clone());
                writes.push(tokio::spawn(async move {
                    let r = http
                        .post(url)
                        .bearer_auth(token)
                        .json(&serde_json::json!({ "ops": [op] }))
                        .send()
                        .await
                        .unwrap();
                    assert_eq!(r.status(), 200);
                }));
            }
        }
        // Meanwhile every reader takes one small page.
        for (i, (_, token)) in readers.iter().enumerate() {
            let page = h.page(token, mirrors[i].cursor, 7).await;
            let mut last = mirrors[i].cursor;
            for change in &page.changes {
                assert!(change.seq > last, "in order");
                last = change.seq;
            }
            let mut one = Mirror {
                cursor: mirrors[i].cursor,
                ..Default::default()
            };
            one.entities = std::mem::take(&mut mirrors[i].entities);
            apply_page(&mut one, page);
            mirrors[i] = one;
        }
        for w in writes {
            w.await.unwrap();
        }
        known = h
            .synced(&owner, 1000)
            .await
            .conversations()
            .iter()
            .map(|c| c.id)
            .collect();
    }
    // Readers catch up; what they hold must be exactly what they may see now.
    let truth = h.synced(&owner, 5000).await;
    assert!(
        truth.conversations().len() >= 8,
        "the run made conversations ({})",
        truth.conversations().len()
    );
    for (i, (agent, token)) in readers.iter().enumerate() {
        mirrors[i].pull(&h, token, 7).await;
        let expected = visible_part(&truth, agent);
        let got: HashSet<EntityRef> = mirrors[i].entities.keys().copied().collect();
        let want: HashSet<EntityRef> = expected.keys().copied().collect();
        let extra: Vec<_> = got.difference(&want).collect();
        let missing: Vec<_> = want.difference(&got).collect();
        assert!(
            extra.is_empty() && missing.is_empty(),
            "{} holds exactly what they may see; extra {extra:?}, missing {missing:?}",
            agent.name
        );
        for (r, e) in &expected {
            assert_eq!(
                mirrors[i].entities.get(r),
                Some(e),
                "{} has the latest state of {r:?}",
                agent.name
            );
        }
    }
}

fn apply_page(mirror: &mut Mirror, page: ChangesPage) {
    for change in page.changes {
        match change.kind {
            ChangeKind::Upsert { entity } => {
                mirror.entities.insert(entity.reference(), entity);
            }
            ChangeKind::Tombstone { entity } => {
                mirror.entities.remove(&entity);
            }
            ChangeKind::Revoke {
                entity: EntityRef::Conversation(id),
            } => {
                mirror.entities.retain(|_, e| match e {
                    Entity::Conversation(c) => c.id != id,
                    Entity::Message(m) => m.conversation_id != id,
                    Entity::Event(ev) => ev.conversation_id != id,
                    Entity::Call(c) => c.conversation_id != id,
                    _ => true,
                });
            }
            ChangeKind::Revoke { entity } => {
                mirror.entities.remove(&entity);
            }
        }
    }
    mirror.cursor = page.cursor;
}
