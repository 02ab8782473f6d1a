-- The Outpost server's store. Entities are kept as JSON (`data`) beside the columns the server
-- queries. The change feed (`feed`) holds one row per entity at the sequence number of its
-- latest change: writing an entity moves its row to the next seq, so a reader paging with
-- `after` never misses a change and never sees one out of order.

PRAGMA application_id = 1333097587; -- 'Outs'

CREATE TABLE meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
) STRICT;

CREATE TABLE agents (
    id            BLOB PRIMARY KEY,
    email         TEXT NOT NULL UNIQUE,
    password_hash TEXT NOT NULL,
    data          TEXT NOT NULL
) STRICT;

CREATE TABLE teams (
    id   BLOB PRIMARY KEY,
    data TEXT NOT NULL
) STRICT;

-- Only a hash of each token is kept: a stolen database holds no usable token.
CREATE TABLE sessions (
    token_hash BLOB PRIMARY KEY,
    agent      BLOB NOT NULL,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL
) STRICT;

CREATE TABLE contacts (
    id   BLOB PRIMARY KEY,
    data TEXT NOT NULL
) STRICT;

-- How a contact is reached on each channel: inbound messages find their contact here.
CREATE TABLE identities (
    channel TEXT NOT NULL,
    address TEXT NOT NULL,
    contact BLOB NOT NULL,
    PRIMARY KEY (channel, address)
) STRICT, WITHOUT ROWID;

-- state: 0 open, 1 closed, 2 snoozed.
CREATE TABLE conversations (
    id            BLOB PRIMARY KEY,
    contact       BLOB NOT NULL,
    assignee      BLOB,
    team          BLOB,
    state         INTEGER NOT NULL,
    snoozed_until INTEGER,
    data          TEXT NOT NULL
) STRICT;

CREATE INDEX conversations_by_contact ON conversations (contact);
CREATE INDEX conversations_snoozed ON conversations (snoozed_until) WHERE snoozed_until IS NOT NULL;

-- moved_at: when the message reached its current status (the channel's delivery loop only
-- follows messages that moved recently).
CREATE TABLE messages (
    id           BLOB PRIMARY KEY,
    conversation BLOB NOT NULL,
    status       TEXT NOT NULL,
    send_at      INTEGER,
    moved_at     INTEGER NOT NULL DEFAULT 0,
    data         TEXT NOT NULL
) STRICT;

CREATE INDEX messages_by_conversation ON messages (conversation);
CREATE INDEX messages_due ON messages (send_at) WHERE status = 'scheduled';
CREATE INDEX messages_in_delivery ON messages (moved_at) WHERE status IN ('pending', 'wired', 'sent', 'delivered');

CREATE TABLE events (
    id           BLOB PRIMARY KEY,
    conversation BLOB NOT NULL,
    data         TEXT NOT NULL
) STRICT;

CREATE INDEX events_by_conversation ON events (conversation);

CREATE TABLE views (
    id    BLOB PRIMARY KEY,
    owner BLOB NOT NULL,
    data  TEXT NOT NULL
) STRICT;

-- kind: contact, conversation, message, event, agent, team, view. conversation/contact: the
-- scope a row's visibility depends on. deleted: a tombstone (the entity is gone).
CREATE TABLE feed (
    seq          INTEGER PRIMARY KEY,
    kind         TEXT NOT NULL,
    entity       BLOB NOT NULL,
    conversation BLOB,
    contact      BLOB,
    deleted      INTEGER NOT NULL DEFAULT 0,
    UNIQUE (kind, entity)
) STRICT;

-- An agent lost sight of an entity (a conversation, or a contact none of whose conversations
-- they may still see) at `seq`: their feed carries a revocation there. entity: EntityRef JSON.
CREATE TABLE revocations (
    agent  BLOB NOT NULL,
    seq    INTEGER NOT NULL,
    entity TEXT NOT NULL,
    PRIMARY KEY (agent, seq)
) STRICT, WITHOUT ROWID;

-- The first result of every op, by op id: a repeated op gets it back and changes nothing.
CREATE TABLE op_results (
    op_id  BLOB PRIMARY KEY,
    agent  BLOB NOT NULL,
    result TEXT NOT NULL,
    at     INTEGER NOT NULL
) STRICT;

-- Channels: the test channel's inbound webhook authenticates with the hash of its secret.
CREATE TABLE channels (
    id          BLOB PRIMARY KEY,
    kind        TEXT NOT NULL,
    secret_hash BLOB NOT NULL,
    data        TEXT NOT NULL
) STRICT;

-- Keyword flows: when a contact whose bot is on writes a trigger word, the flow answers with its
-- steps, one per incoming message, then ends. flows: the definitions; flow_runs: who is in one.
CREATE TABLE flows (
    name    TEXT PRIMARY KEY,
    data    TEXT NOT NULL
) STRICT;

CREATE TABLE flow_runs (
    contact BLOB PRIMARY KEY,
    flow    TEXT NOT NULL,
    step    INTEGER NOT NULL
) STRICT;
