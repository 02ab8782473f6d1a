//! What an agent chose to be notified of: kept per agent at the server (so every desktop of the
//! agent, and later the server's e-mails, follow the same choices) and in the desktop's mirror.

use serde::{Deserialize, Serialize};
use ts_rs::TS;

use crate::{AgentId, Millis};

/// The kinds of notification an agent switches on or off.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum NotifyCategory {
    /// A customer wrote in a conversation assigned to me.
    MessageMine,
    /// A customer wrote in a conversation assigned to another agent.
    MessageOthers,
    /// A customer wrote in a conversation assigned to nobody.
    MessageUnassigned,
    /// Someone else assigned a conversation to me.
    AssignedToMe,
    /// A snoozed conversation of mine (or nobody's) woke up.
    SnoozeWoke,
    /// A message I scheduled could not be sent.
    ScheduledFailed,
    /// The server refused an action I took (often offline): what was undone, and why.
    ActionRefused,
    /// A customer called and nobody picked up, in a conversation I may see that is mine or
    /// nobody's.
    MissedCall,
}

impl NotifyCategory {
    /// Categories added after agents could first save their choices: on for those who chose
    /// before they existed (`NotifySettings::upgraded`).
    pub const ADDED_LATER: [NotifyCategory; 1] = [NotifyCategory::MissedCall];

    pub const ALL: [NotifyCategory; 8] = [
        NotifyCategory::MessageMine,
        NotifyCategory::MessageOthers,
        NotifyCategory::MessageUnassigned,
        NotifyCategory::AssignedToMe,
        NotifyCategory::SnoozeWoke,
        NotifyCategory::ScheduledFailed,
        NotifyCategory::ActionRefused,
        NotifyCategory::MissedCall,
    ];
}

/// Daily quiet hours in the agent's local time: minutes after midnight, from `start` (included)
/// to `end` (excluded); an `end` before `start` runs past midnight (22:00 to 08:00).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct QuietHours {
    pub start: u16,
    pub end: u16,
}

impl QuietHours {
    /// Whether `minute` (after local midnight) is quiet.
    pub fn contains(&self, minute: u16) -> bool {
        match self.start.cmp(&self.end) {
            std::cmp::Ordering::Less => (self.start..self.end).contains(&minute),
            std::cmp::Ordering::Greater => minute >= self.start || minute < self.end,
            std::cmp::Ordering::Equal => false,
        }
    }
}

/// An agent's notification choices.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct NotifySettings {
    pub agent_id: AgentId,
    /// The categories that notify (the rest never do).
    pub enabled: Vec<NotifyCategory>,
    /// The categories that stay silent while the agent is away.
    pub muted_when_away: Vec<NotifyCategory>,
    pub quiet_hours: Option<QuietHours>,
    /// Do not disturb until then (none: not set).
    pub dnd_until: Option<Millis>,
    /// The categories there were when the agent chose: one added since (missed calls) is on,
    /// as for a new agent, until they choose. Empty in settings saved before it was kept.
    #[serde(default)]
    pub offered: Vec<NotifyCategory>,
}

impl NotifySettings {
    /// What an agent gets before choosing: their own conversations and the unassigned ones,
    /// assignments, wake-ups, failures and refusals; other agents' conversations are their
    /// business. Away mutes the unassigned queue.
    pub fn defaults(agent_id: AgentId) -> NotifySettings {
        NotifySettings {
            agent_id,
            enabled: NotifyCategory::ALL
                .into_iter()
                .filter(|c| *c != NotifyCategory::MessageOthers)
                .collect(),
            muted_when_away: vec![NotifyCategory::MessageUnassigned],
            quiet_hours: None,
            dnd_until: None,
            offered: NotifyCategory::ALL.to_vec(),
        }
    }

    /// The settings with every category added since they were saved as a new agent has it
    /// (switched on), and offered from now on.
    pub fn upgraded(mut self) -> NotifySettings {
        for c in NotifyCategory::ADDED_LATER {
            if !self.offered.contains(&c) {
                if !self.enabled.contains(&c) {
                    self.enabled.push(c);
                }
                self.offered.push(c);
            }
        }
        self
    }

    pub fn wants(&self, category: NotifyCategory) -> bool {
        self.enabled.contains(&category)
    }

    /// Checks what an agent may store: minutes within a day, no category twice.
    pub fn validate(&self) -> Result<(), crate::ValidationError> {
        if let Some(q) = self.quiet_hours
            && (q.start >= 24 * 60 || q.end >= 24 * 60)
        {
            return Err(crate::ValidationError {
                field: "quiet hours",
                problem: "must be times of day (00:00 to 23:59)".into(),
            });
        }
        for list in [&self.enabled, &self.muted_when_away, &self.offered] {
            let mut seen = list.clone();
            seen.sort();
            seen.dedup();
            if seen.len() != list.len() {
                return Err(crate::ValidationError {
                    field: "notification categories",
                    problem: "name a category at most once".into(),
                });
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_category_added_since_the_agent_chose_is_on_until_they_choose_again() {
        let me = AgentId::new();
        // Saved before missed calls existed: no `offered`, missed calls not among the enabled.
        let old: NotifySettings = serde_json::from_str(&format!(
            r#"{{"agent_id":"{}","enabled":["message_mine"],"muted_when_away":[],"quiet_hours":null,"dnd_until":null}}"#,
            me.0
        ))
        .unwrap();
        assert!(!old.wants(NotifyCategory::MissedCall));
        let up = old.upgraded();
        assert!(up.wants(NotifyCategory::MissedCall) && up.wants(NotifyCategory::MessageMine));
        assert!(
            !up.wants(NotifyCategory::MessageUnassigned),
            "the agent's own choices stay"
        );
        up.validate().unwrap();
        // Switched off after it was offered: it stays off.
        let mut off = up.clone();
        off.enabled.retain(|c| *c != NotifyCategory::MissedCall);
        assert!(!off.clone().upgraded().wants(NotifyCategory::MissedCall));
        assert_eq!(
            NotifySettings::defaults(me).upgraded(),
            NotifySettings::defaults(me)
        );
    }

    #[test]
    fn quiet_hours_within_a_day_and_across_midnight() {
        let day = QuietHours {
            start: 12 * 60,
            end: 13 * 60,
        };
        assert!(day.contains(12 * 60));
        assert!(day.contains(12 * 60 + 59));
        assert!(!day.contains(13 * 60));
        assert!(!day.contains(11 * 60 + 59));
        let night = QuietHours {
            start: 22 * 60,
            end: 8 * 60,
        };
        assert!(night.contains(23 * 60));
        assert!(night.contains(0));
        assert!(night.contains(7 * 60 + 59));
        assert!(!night.contains(8 * 60));
        assert!(!night.contains(21 * 60 + 59));
        assert!(
            !QuietHours { start: 60, end: 60 }.contains(60),
            "an empty span is never quiet"
        );
    }

    #[test]
    fn settings_are_checked() {
        let me = AgentId::new();
        let mut s = NotifySettings::defaults(me);
        assert!(s.validate().is_ok());
        assert!(!s.wants(NotifyCategory::MessageOthers));
        assert!(s.wants(NotifyCategory::MessageMine));
        s.quiet_hours = Some(QuietHours {
            start: 24 * 60,
            end: 0,
        });
        assert!(s.validate().is_err());
        s.quiet_hours = None;
        s.enabled.push(NotifyCategory::MessageMine);
        assert!(s.validate().is_err());
    }
}
