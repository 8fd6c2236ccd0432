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
