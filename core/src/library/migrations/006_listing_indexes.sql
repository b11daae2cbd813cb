-- Listings are ordered by (location, path, name): indexes in that order let a
-- page be read straight off the index instead of sorting every entry first.
-- They replace the single-column indexes they start with.
DROP INDEX entries_parent;
DROP INDEX entries_kind;
CREATE INDEX entries_listing ON entries(location_id, rel_path, name);
CREATE INDEX entries_parent ON entries(parent_id, location_id, rel_path, name);
CREATE INDEX entries_kind ON entries(kind, location_id, rel_path, name);
