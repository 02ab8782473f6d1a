-- Channels as agents see them (issue 13): kind, name, whether it is a test channel, disabled,
-- templates. An entity of the feed like a team; its credentials and settings stay in `channels`
-- (`data`), which never reaches a client. Channels made before this had no entity: the server
-- gives them one when it starts, as test channels (every channel then was simulated).
CREATE TABLE channel_entities (
    id   BLOB PRIMARY KEY,
    data TEXT NOT NULL
) STRICT;

-- One-time invitation links (issue 13): an admin invites an agent without a password; the link's
-- token (kept as its hash) lets them choose one, once, before it expires.
CREATE TABLE invites (
    token_hash BLOB PRIMARY KEY,
    agent      BLOB NOT NULL,
    expires_at INTEGER NOT NULL
) STRICT;
