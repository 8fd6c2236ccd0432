-- The key behind a signed-in browser session, sealed, so the reporting web process can call intake
-- and the alerts API as that key (services/reporting/delegate.py): the portal's forms and uploads,
-- and the dashboard's actions, meet the same authorisation, validation, audit and idempotency as
-- the API. The column holds a Fernet token (AES-128-CBC with HMAC-SHA256) made with a key derived
-- from the reporting service's session secret; the key in clear is never stored.
--
-- The sealed key lives no longer than its session: a session that ends (signed out, or its key
-- revoked, through the trigger of migration 007) forgets it in the same statement, whoever ends it.

ALTER TABLE reporting_sessions ADD COLUMN sealed_key bytea;

CREATE FUNCTION reporting_sessions_forget_sealed_key() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    NEW.sealed_key := NULL;
    RETURN NEW;
END;
$$;

CREATE TRIGGER reporting_sessions_end_forgets_sealed_key
    BEFORE UPDATE ON reporting_sessions
    FOR EACH ROW WHEN (NEW.ended_at IS NOT NULL AND NEW.sealed_key IS NOT NULL)
    EXECUTE FUNCTION reporting_sessions_forget_sealed_key();

ALTER TABLE reporting_sessions ADD CONSTRAINT reporting_sessions_ended_keeps_no_key
    CHECK (ended_at IS NULL OR sealed_key IS NULL);

-- A partner organisation's own submissions, newest first ("My submissions" in the portal).
CREATE INDEX reporting_events_by_source ON reporting_events (source, ingested_at DESC, event_id);
