-- Each agent's notification choices (`Entity::Settings`), keyed by the agent: only that agent's
-- feed carries them.

CREATE TABLE settings (
    id   BLOB PRIMARY KEY,
    data TEXT NOT NULL
) STRICT;
