-- The server's authority (issue 11).
--
-- Op ids belong to their agent: the first result of an op is kept per (agent, op id), so another
-- agent posting the same op id gets its own judgement, never the first agent's answer.
CREATE TABLE op_results_by_agent (
    agent  BLOB NOT NULL,
    op_id  BLOB NOT NULL,
    result TEXT NOT NULL,
    at     INTEGER NOT NULL,
    PRIMARY KEY (agent, op_id)
) STRICT, WITHOUT ROWID;

INSERT INTO op_results_by_agent (agent, op_id, result, at)
    SELECT agent, op_id, result, at FROM op_results;
DROP TABLE op_results;
ALTER TABLE op_results_by_agent RENAME TO op_results;

-- A disabled agent cannot sign in, and their sessions are gone.
ALTER TABLE agents ADD COLUMN disabled INTEGER NOT NULL DEFAULT 0;

-- Uploads no message names are removed after a day; the sweep finds them by age.
CREATE INDEX attachments_unlinked ON attachments (created_at) WHERE message IS NULL;
-- Each agent's uploads, for their quota.
CREATE INDEX attachments_by_uploader ON attachments (uploader) WHERE by_channel = 0;
