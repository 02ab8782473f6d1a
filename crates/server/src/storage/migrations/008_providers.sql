-- Real channels' providers (issue 14): WhatsApp, Telegram, email.
--
-- provider_messages: each message's id at its provider (a WhatsApp wamid, a Telegram chat and
-- message id, an email's Message-ID), both ways: statuses and replies name messages by it.
CREATE TABLE provider_messages (
    channel     BLOB NOT NULL,
    provider_id TEXT NOT NULL,
    message     BLOB NOT NULL,
    PRIMARY KEY (channel, provider_id)
) STRICT;

CREATE INDEX provider_messages_by_message ON provider_messages (message);

-- early_statuses: a provider's status about a message whose send answer has not been written
-- yet (a webhook can overtake the answer); applied when it is.
CREATE TABLE early_statuses (
    channel     BLOB NOT NULL,
    provider_id TEXT NOT NULL,
    status      TEXT NOT NULL,
    received_at INTEGER NOT NULL
) STRICT;

CREATE INDEX early_statuses_by_id ON early_statuses (channel, provider_id);

-- deliveries: outgoing messages being handed to a provider, or waiting to try again. `sending`
-- is set while a request is out: a row still sending when the server starts is a request whose
-- answer never came back (the message may or may not have left: it is failed, saying so).
-- `parts`: how many of its parts the provider took (a text and two files are three WhatsApp
-- messages): a retry goes on from the next one, never sending one twice.
CREATE TABLE deliveries (
    message    BLOB PRIMARY KEY,
    channel    BLOB NOT NULL,
    attempts   INTEGER NOT NULL,
    sending    INTEGER NOT NULL,
    first_at   INTEGER NOT NULL,
    next_at    INTEGER NOT NULL,
    parts      INTEGER NOT NULL DEFAULT 0,
    last_error TEXT NOT NULL DEFAULT ''
) STRICT;

-- channel_cursors: where a channel's reading stands (Telegram's update offset, an IMAP
-- mailbox's UIDVALIDITY and last UID), kept across restarts.
CREATE TABLE channel_cursors (
    channel BLOB NOT NULL,
    name    TEXT NOT NULL,
    value   TEXT NOT NULL,
    PRIMARY KEY (channel, name)
) STRICT;
