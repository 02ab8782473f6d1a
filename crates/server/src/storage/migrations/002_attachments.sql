-- Files agents attach, uploaded by their desktop before the message that names them
-- (`/v1/attachments/<id>`). An upload belongs to its uploader until a message takes it; from then
-- on whoever may see that message's conversation may fetch it.

CREATE TABLE attachments (
    id           BLOB PRIMARY KEY,
    uploader     BLOB NOT NULL,
    mime         TEXT NOT NULL,
    size         INTEGER NOT NULL,
    bytes        BLOB NOT NULL,
    message      BLOB,
    conversation BLOB,
    created_at   INTEGER NOT NULL
) STRICT;
