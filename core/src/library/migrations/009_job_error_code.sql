-- A failed job's error code in a column of its own; `error` keeps the
-- message. Rows from before keep their "code: message" text and a NULL code.
ALTER TABLE jobs ADD COLUMN error_code TEXT;
