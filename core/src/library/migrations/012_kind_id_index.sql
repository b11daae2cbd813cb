-- Entries of a kind in id order. Searches filtering by kind check each
-- candidate here (a seek in a narrow index, where a lookup of the entry's
-- row reads the row), and a kind's pages are read off it in id order.
CREATE INDEX entries_kind_id ON entries(kind, id);
