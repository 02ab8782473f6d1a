-- The Outpost server's store on PostgreSQL: the same tables as the SQLite store's eight
-- migrations (see ../migrations), in PostgreSQL's types. Entities are kept as their JSON text
-- (`data`), spliced into feed pages as they are, beside the columns the server queries.

-- The workspace's feed head: the seq of the last change. Every write transaction locks this row
-- first and holds it to its commit (see the module doc of `postgres.rs`).
CREATE TABLE head (
    id  INTEGER PRIMARY KEY CHECK (id = 1),
    seq BIGINT NOT NULL
);
INSERT INTO head (id, seq) VALUES (1, 0);

CREATE TABLE agents (
    id            UUID PRIMARY KEY,
    email         TEXT NOT NULL UNIQUE,
    password_hash TEXT NOT NULL,
    disabled      BOOLEAN NOT NULL DEFAULT false,
    data          TEXT NOT NULL
);

CREATE TABLE teams (
    id   UUID PRIMARY KEY,
    data TEXT NOT NULL
);

-- Only a hash of each token is kept: a stolen database holds no usable token.
CREATE TABLE sessions (
    token_hash BYTEA PRIMARY KEY,
    agent      UUID NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
);
CREATE INDEX sessions_by_agent ON sessions (agent);
CREATE INDEX sessions_by_expiry ON sessions (expires_at);

CREATE TABLE contacts (
    id   UUID PRIMARY KEY,
    data TEXT NOT NULL
);

-- How a contact is reached on each channel: inbound messages find their contact here.
CREATE TABLE identities (
    channel TEXT NOT NULL,
    address TEXT NOT NULL,
    contact UUID NOT NULL,
    PRIMARY KEY (channel, address)
);

-- state: 0 open, 1 closed, 2 snoozed.
CREATE TABLE conversations (
    id            UUID PRIMARY KEY,
    contact       UUID NOT NULL,
    assignee      UUID,
    team          UUID,
    state         SMALLINT NOT NULL,
    snoozed_until BIGINT,
    data          TEXT NOT NULL
);
CREATE INDEX conversations_by_contact ON conversations (contact);
CREATE INDEX conversations_snoozed ON conversations (snoozed_until) WHERE snoozed_until IS NOT NULL;

-- n: the order messages were stored in (SQLite's rowid). channel, created_at: from `data`, for
-- the delivery loop and the web-chat widget's history. moved_at: when the message reached its
-- current status.
CREATE TABLE messages (
    n            BIGSERIAL NOT NULL,
    id           UUID PRIMARY KEY,
    conversation UUID NOT NULL,
    status       TEXT NOT NULL,
    channel      TEXT NOT NULL,
    created_at   BIGINT NOT NULL,
    send_at      BIGINT,
    moved_at     BIGINT NOT NULL DEFAULT 0,
    data         TEXT NOT NULL
);
CREATE INDEX messages_by_conversation ON messages (conversation, n);
CREATE INDEX messages_due ON messages (send_at) WHERE status = 'scheduled';
CREATE INDEX messages_pending ON messages (moved_at) WHERE status = 'pending';
CREATE INDEX messages_in_delivery ON messages (moved_at) WHERE status IN ('pending', 'wired', 'sent', 'delivered');

CREATE TABLE events (
    n            BIGSERIAL NOT NULL,
    id           UUID PRIMARY KEY,
    conversation UUID NOT NULL,
    data         TEXT NOT NULL
);
CREATE INDEX events_by_conversation ON events (conversation, n);

CREATE TABLE views (
    id    UUID PRIMARY KEY,
    owner UUID NOT NULL,
    data  TEXT NOT NULL
);

CREATE TABLE settings (
    id   UUID PRIMARY KEY,
    data TEXT NOT NULL
);

CREATE TABLE channel_entities (
    id   UUID PRIMARY KEY,
    data TEXT NOT NULL
);

-- One row per entity at the seq of its latest change (see the SQLite store's first migration).
CREATE TABLE feed (
    seq          BIGINT PRIMARY KEY,
    kind         TEXT NOT NULL,
    entity       UUID NOT NULL,
    conversation UUID,
    contact      UUID,
    deleted      BOOLEAN NOT NULL DEFAULT false,
    UNIQUE (kind, entity)
);
CREATE INDEX feed_conversations ON feed (seq) WHERE kind = 'conversation' AND NOT deleted;

-- An agent lost sight of an entity at `seq`. entity: EntityRef JSON.
CREATE TABLE revocations (
    agent  UUID NOT NULL,
    seq    BIGINT NOT NULL,
    entity TEXT NOT NULL,
    PRIMARY KEY (agent, seq)
);

-- The first result of every op, per agent and op id.
CREATE TABLE op_results (
    agent  UUID NOT NULL,
    op_id  UUID NOT NULL,
    result TEXT NOT NULL,
    at     BIGINT NOT NULL,
    PRIMARY KEY (agent, op_id)
);

-- Channels' private side: the webhook secret's hash, credentials and settings (`data`).
CREATE TABLE channels (
    id          UUID PRIMARY KEY,
    kind        TEXT NOT NULL,
    secret_hash BYTEA NOT NULL,
    data        TEXT NOT NULL
);

CREATE TABLE flows (
    name TEXT PRIMARY KEY,
    data TEXT NOT NULL
);

CREATE TABLE flow_runs (
    contact UUID PRIMARY KEY,
    flow    TEXT NOT NULL,
    step    BIGINT NOT NULL
);

-- Files: agents' uploads and what customers send (by_channel: `uploader` is the channel), kept
-- in the database, so that every server process reads them.
CREATE TABLE attachments (
    id           UUID PRIMARY KEY,
    uploader     UUID NOT NULL,
    by_channel   BOOLEAN NOT NULL DEFAULT false,
    mime         TEXT NOT NULL,
    size         BIGINT NOT NULL,
    bytes        BYTEA NOT NULL,
    message      UUID,
    conversation UUID,
    created_at   BIGINT NOT NULL
);
CREATE INDEX attachments_unlinked ON attachments (created_at) WHERE message IS NULL;
CREATE INDEX attachments_by_uploader ON attachments (uploader) WHERE NOT by_channel;

CREATE TABLE invites (
    token_hash BYTEA PRIMARY KEY,
    agent      UUID NOT NULL,
    expires_at BIGINT NOT NULL
);

CREATE TABLE widget_visitors (
    id         UUID PRIMARY KEY,
    channel    UUID NOT NULL,
    token_hash BYTEA NOT NULL UNIQUE,
    name       TEXT NOT NULL,
    email      TEXT NOT NULL,
    created_at BIGINT NOT NULL
);

CREATE TABLE provider_messages (
    n           BIGSERIAL NOT NULL,
    channel     UUID NOT NULL,
    provider_id TEXT NOT NULL,
    message     UUID NOT NULL,
    PRIMARY KEY (channel, provider_id)
);
CREATE INDEX provider_messages_by_message ON provider_messages (message, n);

CREATE TABLE early_statuses (
    n           BIGSERIAL PRIMARY KEY,
    channel     UUID NOT NULL,
    provider_id TEXT NOT NULL,
    status      TEXT NOT NULL,
    received_at BIGINT NOT NULL
);
CREATE INDEX early_statuses_by_id ON early_statuses (channel, provider_id);

-- The server processes sharing the workspace, as they last said they are alive (every few
-- seconds; PostgreSQL's clock). A delivery's `owner` is the process whose request is out: once
-- that process is gone, another settles it.
CREATE TABLE processes (
    id         UUID PRIMARY KEY,
    started_at TIMESTAMPTZ NOT NULL,
    seen_at    TIMESTAMPTZ NOT NULL,
    -- Agents with a stream open on it (the web-chat widget's "someone is available").
    online     UUID[] NOT NULL DEFAULT '{}'
);

CREATE TABLE deliveries (
    message    UUID PRIMARY KEY,
    owner      UUID,
    channel    UUID NOT NULL,
    attempts   BIGINT NOT NULL,
    sending    BOOLEAN NOT NULL,
    first_at   BIGINT NOT NULL,
    next_at    BIGINT NOT NULL,
    parts      BIGINT NOT NULL DEFAULT 0,
    last_error TEXT NOT NULL DEFAULT ''
);

-- Rate limits' buckets where every process sees them (an agent's ops a second): tokens left,
-- and when they were counted (PostgreSQL's clock).
CREATE TABLE budgets (
    key    TEXT PRIMARY KEY,
    tokens DOUBLE PRECISION NOT NULL,
    at     TIMESTAMPTZ NOT NULL
);

CREATE TABLE channel_cursors (
    channel UUID NOT NULL,
    name    TEXT NOT NULL,
    value   TEXT NOT NULL,
    PRIMARY KEY (channel, name)
);
