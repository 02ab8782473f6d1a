-- The message a staged file went out with (set when the agent's op takes it): once the server has
-- the file and no op needs it any more, its bytes move to the fetched files (`Store::tidy_uploads`).
ALTER TABLE uploads ADD COLUMN message BLOB;
