-- Issue 17: calls made and received on a channel (WhatsApp calling), each in its
-- conversation's scope like the conversation's messages and events.
CREATE TABLE calls (
    n            BIGSERIAL NOT NULL,
    id           UUID PRIMARY KEY,
    conversation UUID NOT NULL,
    data         TEXT NOT NULL
);
CREATE INDEX calls_by_conversation ON calls (conversation, n);
