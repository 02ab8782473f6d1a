-- Files of messages fetched from the server, kept beside the mirror (`<mirror>.files/<id>`) so
-- they open offline (store/files.rs). A row names the message and conversation of its file: when
-- the message goes (deleted, or its conversation revoked) the row goes in the same transaction.
CREATE TABLE files (
    id           BLOB PRIMARY KEY,
    message      BLOB NOT NULL,
    conversation BLOB NOT NULL,
    mime         TEXT NOT NULL,
    size         INTEGER NOT NULL,
    used_at      INTEGER NOT NULL
) STRICT;

CREATE INDEX files_by_message ON files (message);
CREATE INDEX files_by_use ON files (used_at);
