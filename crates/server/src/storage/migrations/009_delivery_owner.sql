-- Issue 16: the server process whose request for a delivery is out. A request left out by a
-- process that stopped is settled by the next (its answer will never come); rows from before
-- this have none, and are settled as before.
ALTER TABLE deliveries ADD COLUMN owner BLOB;
