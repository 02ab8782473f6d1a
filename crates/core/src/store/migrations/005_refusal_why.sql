-- A refusal's reason for the agent's language (JSON: {"key": "...", "params": {...}}); empty
-- for refusals stored before, or from a server that sent none (then the English one is shown).
ALTER TABLE ops ADD COLUMN refusal_why TEXT NOT NULL DEFAULT '';
