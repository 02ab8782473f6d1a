-- The workspace's channels as agents see them (issue 13): kind, name, test channel or not,
-- disabled, templates. Never their credentials, which stay at the server.
CREATE TABLE channels (
    uuid BLOB PRIMARY KEY,
    kind TEXT NOT NULL,
    data TEXT NOT NULL
) STRICT, WITHOUT ROWID;
