-- Files the agent attached, kept here from the moment they are attached: a message waiting in
-- the journal names its files by their server path (`/v1/attachments/<id>`) before they are
-- uploaded; the push uploads them first (`uploaded` = 1 once the server has them) and they stay
-- as the local copy the timeline shows.
CREATE TABLE uploads (
    id         BLOB PRIMARY KEY,
    name       TEXT NOT NULL,
    mime       TEXT NOT NULL,
    size       INTEGER NOT NULL,
    bytes      BLOB NOT NULL,
    uploaded   INTEGER NOT NULL DEFAULT 0,
    created_at INTEGER NOT NULL
) STRICT;
