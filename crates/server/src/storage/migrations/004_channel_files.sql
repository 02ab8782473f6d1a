-- Files customers send: their channel uploads each one (`PUT /v1/channels/<id>/files/<file>`)
-- before the inbound message that names it. For those rows `uploader` is the channel's id.

ALTER TABLE attachments ADD COLUMN by_channel INTEGER NOT NULL DEFAULT 0;
