-- Messages are searched as prefixes from three letters (store/search.rs): the two-letter prefix
-- index served no query and cost a quarter of the indexing of every message (a first sync spends
-- most of its time indexing). The index is built again from the stored messages, in chunks, by
-- the sync's index builder (`Store::finish_bulk_load`) at the next sync: 'rebuild' says it is
-- only that, not a first sync. A mirror without messages has nothing to build.
DROP TABLE messages_fts;
CREATE VIRTUAL TABLE messages_fts USING fts5(
    text,
    content = 'messages', content_rowid = 'id',
    tokenize = "unicode61 remove_diacritics 2",
    prefix = '3 4'
);
DELETE FROM meta WHERE key = 'index_upto';
INSERT INTO meta (key, value) SELECT 'index_pending', 'rebuild' WHERE EXISTS (SELECT 1 FROM messages)
    ON CONFLICT (key) DO NOTHING;
