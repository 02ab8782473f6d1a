-- Issue 17: calls made and received on a channel (WhatsApp calling), in their conversation's
-- scope. Listed newest first (the Calls folder), by conversation (the timeline), by contact
-- (search).
CREATE TABLE calls (
    id           INTEGER PRIMARY KEY,
    uuid         BLOB NOT NULL UNIQUE,
    conversation BLOB NOT NULL,
    contact      BLOB NOT NULL,
    at           INTEGER NOT NULL,
    direction    INTEGER NOT NULL,
    outcome      INTEGER NOT NULL,
    data         TEXT NOT NULL
) STRICT;

CREATE INDEX calls_by_time ON calls (at, id);
CREATE INDEX calls_by_conversation ON calls (conversation, at);
CREATE INDEX calls_by_contact ON calls (contact, at);
