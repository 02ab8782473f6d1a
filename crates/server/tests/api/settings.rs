//! Each agent's settings: kept at the server, seen by that agent only.

use super::*;

#[tokio::test]
async fn test_notification_settings_are_kept_per_agent_and_reach_only_their_agent() {
    let h = harness().await;
    let owner = h.login(&h.owner).await;
    let tiago = h.login(&h.team_agent).await;
    let paula = h.login(&h.own_only).await;
    let mut settings = NotifySettings::defaults(h.team_agent.id);
    settings.enabled = vec![NotifyCategory::MessageMine];
    settings.quiet_hours = Some(QuietHours {
        start: 22 * 60,
        end: 7 * 60,
    });
    h.applied(
        &tiago,
        Action::SaveNotifySettings {
            settings: settings.clone(),
        },
    )
    .await;
    let settings_in = |m: &Mirror| -> Vec<NotifySettings> {
        m.entities
            .values()
            .filter_map(|e| match e {
                Entity::Settings(s) => Some(s.clone()),
                _ => None,
            })
            .collect()
    };
    assert_eq!(
        settings_in(&h.synced(&tiago, 1000).await),
        vec![settings.clone()]
    );
    // Not in anyone else's feed, the owner's included (who sees every conversation).
    assert!(settings_in(&h.synced(&paula, 1000).await).is_empty());
    assert!(settings_in(&h.synced(&owner, 1000).await).is_empty());
    // Nobody chooses another agent's notifications, an owner neither.
    for who in [&paula, &owner] {
        let r = h
            .ops(
                who,
                vec![Action::SaveNotifySettings {
                    settings: NotifySettings::defaults(h.team_agent.id),
                }],
            )
            .await;
        assert_eq!(refused(&r).0, ErrorCode::NotAllowed, "{r:?}");
    }
    // Times that are not times of day are refused with the field named.
    let mut bad = settings.clone();
    bad.quiet_hours = Some(QuietHours {
        start: 25 * 60,
        end: 0,
    });
    let r = h
        .ops(&tiago, vec![Action::SaveNotifySettings { settings: bad }])
        .await;
    assert!(
        matches!(&r[0].outcome, OpOutcome::Refused { reason, .. } if reason.contains("quiet hours")),
        "{r:?}"
    );
    assert_eq!(settings_in(&h.synced(&tiago, 1000).await), vec![settings]);
}
