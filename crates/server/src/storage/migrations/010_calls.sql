-- Issue 17: calls made and received on a channel (WhatsApp calling), each in its
-- conversation's scope like the conversation's messages and events.
CREATE TABLE calls (
    id           BLOB PRIMARY KEY,
    conversation BLOB NOT NULL,
    data         TEXT NOT NULL
) STRICT;

CREATE INDEX calls_by_conversation ON calls (conversation);
