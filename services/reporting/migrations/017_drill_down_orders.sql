-- The drill-down (services/reporting/adapters/store.py, findings) reads each area's page along an
-- index in the page's own order, so a page costs its own rows rather than a sort of the window.
-- Migration 012 gave it newest first (reporting_events_area_newest; oldest first is the same
-- index read backwards). These cover the rest the reporting API offers:

-- Findings of one community and one theme, newest first (or oldest, read backwards): without it
-- an area's newest rows are read until enough match both filters, about one in a hundred.
CREATE INDEX reporting_events_area_community_theme ON reporting_events
    (area, community, theme, occurred_at DESC, event_id);

-- Most severe first: the expression is ORDER_BY["findings"]["severity"]'s, as the query writes it.
CREATE INDEX reporting_events_area_severity ON reporting_events
    (area, (CASE severity WHEN 'critical' THEN 0 WHEN 'high' THEN 1 WHEN 'moderate' THEN 2
                          WHEN 'low' THEN 3 ELSE 4 END), occurred_at DESC, event_id);

-- Most people affected first.
CREATE INDEX reporting_events_area_people ON reporting_events
    (area, people_affected DESC NULLS LAST, occurred_at DESC, event_id);

-- The heat map filtered to one community or theme sums rollup_detail_daily's events per
-- signature over the window for that community or theme: about 48,000 rows for a 90-day region
-- view at ten million events. With the signature and the count in the index, those are read
-- from the index alone instead of from as many heap pages (migration 012's indexes, replaced).
DROP INDEX rollup_detail_daily_community;
DROP INDEX rollup_detail_daily_theme;
CREATE INDEX rollup_detail_daily_community ON rollup_detail_daily (community, area, day)
    INCLUDE (signature_id, events);
CREATE INDEX rollup_detail_daily_theme ON rollup_detail_daily (theme, area, day)
    INCLUDE (signature_id, events);
-- Index-only scans need the visibility map current: vacuum after a fiftieth of the rows changed.
ALTER TABLE rollup_detail_daily SET (autovacuum_vacuum_scale_factor = 0.02,
                                     autovacuum_vacuum_insert_scale_factor = 0.02);
