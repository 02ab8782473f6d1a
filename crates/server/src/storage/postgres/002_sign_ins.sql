-- Sign-in attempts, counted by every process alike (the limiter of `auth::LoginLimiter`): one
-- row per attempt and key (an email from an address, an address, an email), in a sliding
-- window; and the addresses each email signed in from.
CREATE TABLE login_attempts (
    key TEXT   NOT NULL,
    at  BIGINT NOT NULL
);
CREATE INDEX login_attempts_by_key ON login_attempts (key, at);
CREATE INDEX login_attempts_by_time ON login_attempts (at);

CREATE TABLE login_known (
    pair TEXT PRIMARY KEY,
    at   BIGINT NOT NULL
);
