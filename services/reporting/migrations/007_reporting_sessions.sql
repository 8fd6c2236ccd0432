-- Dashboard sign-in sessions, held server-side so that signing out and revoking a key end them.
--
-- The browser's cookie carries a random session id signed by the reporting service
-- (services/reporting/domain/session.py); only the id's SHA-256 is stored here. A request reads
-- the dashboards only while its row is live: not ended, not expired, and its API key not revoked
-- (services/reporting/adapters/store.py). Rows are kept after they end, as a record of who was
-- signed in when, and forgotten some time after they expire.

CREATE TABLE reporting_sessions (
    session_sha256  bytea PRIMARY KEY CHECK (length(session_sha256) = 32),
    key_id          text NOT NULL REFERENCES api_keys (key_id),
    created_at      timestamptz NOT NULL DEFAULT now(),
    expires_at      timestamptz NOT NULL,
    ended_at        timestamptz,
    end_reason      text CHECK (end_reason IN ('signed_out', 'key_revoked')),
    CHECK ((ended_at IS NULL) = (end_reason IS NULL))
);
CREATE INDEX reporting_sessions_live_by_key ON reporting_sessions (key_id) WHERE ended_at IS NULL;
CREATE INDEX reporting_sessions_expires ON reporting_sessions (expires_at);

-- Revoking a key (services/intake/keys.py, or an operator's UPDATE by hand) ends its sessions in
-- the same transaction, whichever tool revoked it. The session check refuses a revoked key's
-- sessions on its own as well; this keeps the record saying so.
CREATE FUNCTION reporting_sessions_end_for_revoked_key() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    UPDATE reporting_sessions SET ended_at = NEW.revoked_at, end_reason = 'key_revoked'
    WHERE key_id = NEW.key_id AND ended_at IS NULL;
    RETURN NEW;
END;
$$;

CREATE TRIGGER api_keys_revoked_ends_sessions
    AFTER UPDATE OF revoked_at ON api_keys
    FOR EACH ROW WHEN (OLD.revoked_at IS NULL AND NEW.revoked_at IS NOT NULL)
    EXECUTE FUNCTION reporting_sessions_end_for_revoked_key();
