-- The lowest id an entry added to a location since its last completed scan
-- can have; NULL once a scan completes. A scan that stops, fails or is
-- killed leaves it set, so the next scan still takes the files it added for
-- possible new paths of files it finds vanished (a move).
ALTER TABLE locations ADD COLUMN added_since INTEGER;
