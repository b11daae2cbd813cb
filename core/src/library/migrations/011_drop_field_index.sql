-- Search reads only the per-entry index (migration 010): the page's reasons
-- come from the documents' text. The per-field full-text index and its
-- queue are gone, and with them a second tokenisation of every name,
-- metadata value and sidecar written.
DROP TRIGGER search_docs_ai;
DROP TRIGGER search_docs_ad;
DROP TRIGGER search_docs_au;
DROP TABLE search_pending;
DROP TABLE search_fts;
