-- The registry every service reads: organisations, their API keys and alliances (001, 006, 010).
-- Written by the keys command and the organisation registry (services/common); each service's
-- connections search it after their own schema (services/common/db.py).
CREATE SCHEMA registry;

ALTER TABLE public.organisations SET SCHEMA registry;
ALTER TABLE public.api_keys SET SCHEMA registry;
ALTER TABLE public.organisation_members SET SCHEMA registry;

-- For people and scripts (psql, the demo, tests): a session that sets no search_path of its own
-- sees every schema, so `SELECT ... FROM alerts` still works at a psql prompt. The services never
-- rely on this: each sets its own search_path when it connects, which overrides this default.
-- Takes effect in sessions started after this commits. Needs the migrating role to own the database.
DO $$
BEGIN
    EXECUTE format('ALTER DATABASE %I SET search_path = public, registry, intake, alerts, reporting',
                   current_database());
END $$;
