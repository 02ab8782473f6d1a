-- The web-chat widget's visitors (issue 13): each has a token (kept as its hash) that names
-- them alone; their address on the channel is their id, so they reach only their own contact's
-- web-chat messages.
CREATE TABLE widget_visitors (
    id         BLOB PRIMARY KEY,
    channel    BLOB NOT NULL,
    token_hash BLOB NOT NULL UNIQUE,
    name       TEXT NOT NULL,
    email      TEXT NOT NULL,
    created_at INTEGER NOT NULL
) STRICT;
