-- The reporting service's own schema (the worker and the reporting API). Its connections search
-- reporting, then registry (services/common/db.py).
CREATE SCHEMA reporting;

-- The event ledger and the rollups (002, 004, 010, 012), the provider series and the alerts read
-- model fed by alerts.v1 (004).
ALTER TABLE public.reporting_events SET SCHEMA reporting;
ALTER TABLE public.rollup_signatures SET SCHEMA reporting;
ALTER TABLE public.rollup_area_daily SET SCHEMA reporting;
ALTER TABLE public.rollup_detail_daily SET SCHEMA reporting;
ALTER VIEW public.rollup_cycle_daily_v SET SCHEMA reporting;
ALTER TABLE public.rollup_community_theme SET SCHEMA reporting;
ALTER TABLE public.reporting_freshness SET SCHEMA reporting;
ALTER TABLE public.provider_indicator_series SET SCHEMA reporting;
ALTER TABLE public.reporting_alerts SET SCHEMA reporting;

-- Dashboard sessions and their triggers (007, 011).
ALTER TABLE public.reporting_sessions SET SCHEMA reporting;
ALTER FUNCTION public.reporting_sessions_end_for_revoked_key() SET SCHEMA reporting;
ALTER FUNCTION public.reporting_sessions_forget_sealed_key() SET SCHEMA reporting;

-- Revoking a key ends its sessions through a trigger on registry.api_keys, whoever revokes it:
-- the keys command, whose connections search the registry alone, as well. The function finds
-- reporting_sessions by its own search_path, not the caller's.
ALTER FUNCTION reporting.reporting_sessions_end_for_revoked_key() SET search_path = reporting;
