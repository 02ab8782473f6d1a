-- The offline mirror: server state with the agent's unsettled ops replayed on top.
-- Entities are named by their UUIDs (16-byte blobs) and reference each other by UUID, so rows can
-- arrive in any order. Each table also has an integer rowid: the key of its full-text index and
-- of keyset pagination. `data` holds the entity's full JSON (for messages: all but the text,
-- which is a column of its own for the full-text index); the other columns exist to be queried.

PRAGMA application_id = 1333097584; -- 'Outp'

CREATE TABLE meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
) STRICT;

CREATE TABLE agents (
    uuid BLOB PRIMARY KEY,
    data TEXT NOT NULL
) STRICT, WITHOUT ROWID;

CREATE TABLE teams (
    uuid BLOB PRIMARY KEY,
    name TEXT NOT NULL DEFAULT '',
    data TEXT NOT NULL
) STRICT, WITHOUT ROWID;

CREATE TABLE views (
    uuid  BLOB PRIMARY KEY,
    owner BLOB NOT NULL,
    name  TEXT NOT NULL DEFAULT '',
    data  TEXT NOT NULL
) STRICT, WITHOUT ROWID;

-- Contact fields as custom views compare them: lower case, accents removed (`*_f`).
CREATE TABLE contacts (
    id         INTEGER PRIMARY KEY,
    uuid       BLOB NOT NULL UNIQUE,
    name       TEXT NOT NULL DEFAULT '',
    phone      TEXT NOT NULL DEFAULT '',
    email      TEXT NOT NULL DEFAULT '',
    name_f     TEXT NOT NULL DEFAULT '',
    email_f    TEXT NOT NULL DEFAULT '',
    country_f  TEXT NOT NULL DEFAULT '',
    language_f TEXT NOT NULL DEFAULT '',
    data       TEXT NOT NULL
) STRICT;

CREATE TABLE contact_tags (
    contact INTEGER NOT NULL,
    tag_f   TEXT NOT NULL,
    PRIMARY KEY (contact, tag_f)
) STRICT, WITHOUT ROWID;

CREATE TABLE contact_fields (
    contact INTEGER NOT NULL,
    key     TEXT NOT NULL,
    value_f TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (contact, key)
) STRICT, WITHOUT ROWID;

CREATE VIRTUAL TABLE contacts_fts USING fts5(
    name, phone, email,
    content = 'contacts', content_rowid = 'id',
    tokenize = "unicode61 remove_diacritics 2"
);

-- state: 0 open, 1 closed, 2 snoozed. assignee/team NULL: unassigned / no team.
-- last_incoming_at NULL: the contact never wrote.
CREATE TABLE conversations (
    id               INTEGER PRIMARY KEY,
    uuid             BLOB NOT NULL UNIQUE,
    contact          BLOB NOT NULL,
    channel          TEXT NOT NULL,
    state            INTEGER NOT NULL,
    assignee         BLOB,
    team             BLOB,
    unanswered       INTEGER NOT NULL DEFAULT 0,
    unread           INTEGER NOT NULL DEFAULT 0,
    opened_at        INTEGER NOT NULL,
    last_message_at  INTEGER NOT NULL,
    last_incoming_at INTEGER,
    data             TEXT NOT NULL
) STRICT;

-- Conversations counted by assignee, team and state, with their unread messages: the side bar's
-- counts and new-message dots, kept as data in the same transaction as every conversation write.
-- An empty blob stands for "unassigned" / "no team" (NULLs would never match on conflict).
CREATE TABLE conversation_counts (
    assignee BLOB NOT NULL,
    team     BLOB NOT NULL,
    state    INTEGER NOT NULL,
    count    INTEGER NOT NULL DEFAULT 0,
    unread   INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (assignee, team, state)
) STRICT, WITHOUT ROWID;

-- One index per view x sort family: the view's key, the state (every list filters on it), then
-- the sort key and the rowid (keyset pagination).
CREATE INDEX conversations_all_by_last ON conversations (state, last_message_at, id);
CREATE INDEX conversations_all_by_opened ON conversations (state, opened_at, id);
CREATE INDEX conversations_assignee_by_last ON conversations (assignee, state, last_message_at, id);
CREATE INDEX conversations_assignee_by_opened ON conversations (assignee, state, opened_at, id);
CREATE INDEX conversations_team_by_last ON conversations (team, state, last_message_at, id);
CREATE INDEX conversations_team_by_opened ON conversations (team, state, opened_at, id);
CREATE INDEX conversations_by_contact ON conversations (contact, last_message_at);

-- id: a time-ordered key (created_at * 4096 + a disambiguator), so that rowid order is time
-- order for the timeline, the folder pages and the full-text index alike.
-- folder: Folder::code(); direction: 0 incoming, 1 outgoing.
CREATE TABLE messages (
    id           INTEGER PRIMARY KEY,
    uuid         BLOB NOT NULL UNIQUE,
    conversation BLOB NOT NULL,
    folder       INTEGER NOT NULL,
    direction    INTEGER NOT NULL,
    created_at   INTEGER NOT NULL,
    text         TEXT NOT NULL DEFAULT '',
    data         TEXT NOT NULL
) STRICT;

CREATE INDEX messages_by_conversation ON messages (conversation, id);
CREATE INDEX messages_by_folder ON messages (folder, id);

-- Prefix indexes of 2 to 4 characters keep search-as-you-type fast on words in a large share of
-- the messages ("ped…" in a mirror where every fourth message says "pedido").
CREATE VIRTUAL TABLE messages_fts USING fts5(
    text,
    content = 'messages', content_rowid = 'id',
    tokenize = "unicode61 remove_diacritics 2",
    prefix = '2 3 4'
);

-- The number of messages in each folder, kept in the same transaction as every message write.
CREATE TABLE folder_counts (
    folder INTEGER PRIMARY KEY,
    count  INTEGER NOT NULL DEFAULT 0
) STRICT;
INSERT INTO folder_counts (folder, count) VALUES (0, 0), (1, 0), (2, 0), (3, 0), (4, 0), (5, 0), (6, 0);

CREATE TABLE events (
    id           INTEGER PRIMARY KEY,
    uuid         BLOB NOT NULL UNIQUE,
    conversation BLOB NOT NULL,
    at           INTEGER NOT NULL,
    data         TEXT NOT NULL
) STRICT;

CREATE INDEX events_by_conversation ON events (conversation, at);

-- Drafts, one per conversation, saved on every edit.
CREATE TABLE drafts (
    conversation BLOB PRIMARY KEY,
    text         TEXT NOT NULL DEFAULT '',
    updated_at   INTEGER NOT NULL
) STRICT, WITHOUT ROWID;

-- The op journal: every agent action, in order. state: 0 pending, 1 in flight, 2 done (accepted
-- by the server; `applied_seq` says where its effect shows in the change feed), 3 refused.
-- An op is settled, and leaves the journal, once the mirror's cursor has passed its applied_seq.
CREATE TABLE ops (
    seq            INTEGER PRIMARY KEY,
    op_id          BLOB NOT NULL UNIQUE,
    kind           TEXT NOT NULL,
    body           TEXT NOT NULL,
    state          INTEGER NOT NULL DEFAULT 0,
    applied_seq    INTEGER,
    refusal_code   TEXT NOT NULL DEFAULT '',
    refusal_reason TEXT NOT NULL DEFAULT '',
    created_at     INTEGER NOT NULL
) STRICT;

CREATE INDEX ops_by_state ON ops (state, seq);

-- Before-images of what each unsettled op changed, in the order it changed them: undoing an op
-- puts them back in reverse. before NULL: the entity did not exist.
CREATE TABLE op_undo (
    op_seq INTEGER NOT NULL,
    ord    INTEGER NOT NULL,
    entity TEXT NOT NULL,
    before TEXT,
    PRIMARY KEY (op_seq, ord)
) STRICT, WITHOUT ROWID;
