-- The process that owns a queued or running job (see infra/job/runner.rs):
-- a job whose runner stopped is shown as queued, and the daemon takes it on.
ALTER TABLE jobs ADD COLUMN runner TEXT;
