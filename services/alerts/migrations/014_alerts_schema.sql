-- The alerts service's own schema (the worker and the alerts API). Its connections search alerts,
-- then registry (services/common/db.py).
CREATE SCHEMA alerts;

-- Rule state, the alert store and its audit trail, silences, subscriptions, thresholds and the
-- two outboxes (003).
ALTER TABLE public.alert_area_state SET SCHEMA alerts;
ALTER TABLE public.alert_events_seen SET SCHEMA alerts;
ALTER TABLE public.alerts SET SCHEMA alerts;
ALTER TABLE public.alert_groups SET SCHEMA alerts;
ALTER TABLE public.alert_audit SET SCHEMA alerts;
ALTER TABLE public.alert_silences SET SCHEMA alerts;
ALTER TABLE public.alert_subscriptions SET SCHEMA alerts;
ALTER TABLE public.alert_thresholds SET SCHEMA alerts;
ALTER TABLE public.alert_notifications SET SCHEMA alerts;
ALTER TABLE public.alert_deliveries SET SCHEMA alerts;
ALTER TABLE public.alert_publications SET SCHEMA alerts;
ALTER FUNCTION public.alert_audit_append_only() SET SCHEMA alerts;

-- Community recommendations, their answers and outbox (008), peer review returns (009).
ALTER TABLE public.recommendations SET SCHEMA alerts;
ALTER TABLE public.recommendation_responses SET SCHEMA alerts;
ALTER TABLE public.recommendation_publications SET SCHEMA alerts;
ALTER FUNCTION public.recommendation_responses_append_only() SET SCHEMA alerts;
ALTER TABLE public.peer_reviews SET SCHEMA alerts;
