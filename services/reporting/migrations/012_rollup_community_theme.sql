-- Findings by area x community x theme in calendar buckets of three grains, for the unmet-needs
-- report (services/reporting/adapters/store.py, community_theme).
--
-- rollup_detail_daily answers that report too, but it is keyed by day and mapping signature as
-- well, so a 90-day region view and the window before it read a row per area, day, signature,
-- community and theme: about 140,000 rows at a million events, growing with the events. Here
-- each finding is counted once per grain: in its day, its ISO week (the Monday it starts) and its
-- month (the 1st). A window is tiled by whole months, whole weeks inside the part-months at its
-- ends and single days (services/reporting/domain/rollups.py, cover): about a dozen buckets for
-- 90 days, each at most areas x communities x themes rows, however many events there are.
--
-- Written by the reporting worker in the same transaction as reporting_events and the other
-- rollups, and only for event ids that insert was new for: a replay never counts twice.

CREATE TABLE rollup_community_theme (
    grain            text NOT NULL CHECK (grain IN ('day', 'week', 'month')),
    bucket           date NOT NULL,               -- first day of the bucket
    area             text NOT NULL,
    community        text NOT NULL,
    theme            text NOT NULL,
    region           text NOT NULL,
    findings         integer NOT NULL,
    people_affected  bigint NOT NULL,
    severity_weight  bigint NOT NULL,             -- sum of contracts.vocabulary.SEVERITY_WEIGHTS
    high_severity    integer NOT NULL,            -- findings rated high or critical
    -- The counts ride in the key's index, so the report reads a bucket's rows from the index
    -- alone (an index-only scan: a thirtieth of the pages at a million events).
    PRIMARY KEY (grain, bucket, area, community, theme)
        INCLUDE (findings, people_affected, severity_weight, high_severity),
    CHECK (grain <> 'week' OR extract(isodow FROM bucket) = 1),
    CHECK (grain <> 'month' OR extract(day FROM bucket) = 1)
);
-- Index-only scans need the visibility map current: vacuum after a fiftieth of the rows changed,
-- not the default fifth (only the latest buckets change; the rest stay all-visible).
ALTER TABLE rollup_community_theme SET (autovacuum_vacuum_scale_factor = 0.02,
                                        autovacuum_vacuum_insert_scale_factor = 0.02);

-- The findings stored so far, from the daily detail. Writers of rollup_detail_daily wait until
-- this commits, so no finding lands in one table and not the other; stop the reporting workers
-- of the release before while this job runs (deploy/README-ops.md), since they do not write here.
LOCK TABLE rollup_detail_daily IN SHARE MODE;

INSERT INTO rollup_community_theme (grain, bucket, area, community, theme, region, findings,
    people_affected, severity_weight, high_severity)
SELECT g.grain,
       CASE g.grain WHEN 'day' THEN d.day
                    WHEN 'week' THEN date_trunc('week', d.day)::date
                    ELSE date_trunc('month', d.day)::date END AS bucket,
       d.area, d.community, d.theme, min(d.region), sum(d.events), sum(d.people_affected),
       sum(d.severity_weight), sum(d.high_severity)
FROM rollup_detail_daily d
JOIN rollup_signatures s USING (signature_id)
CROSS JOIN (VALUES ('day'), ('week'), ('month')) AS g(grain)
WHERE s.type = 'finding'
GROUP BY 1, 2, d.area, d.community, d.theme;

-- The heat map filtered to one community or theme, and the drill-down's total under those
-- filters, read rollup_detail_daily for that community or theme only.
CREATE INDEX rollup_detail_daily_community ON rollup_detail_daily (community, area, day);
CREATE INDEX rollup_detail_daily_theme ON rollup_detail_daily (theme, area, day);

-- The drill-down's newest findings, area by area: a page reads its own rows along this index
-- instead of sorting every event of the window.
CREATE INDEX reporting_events_area_newest ON reporting_events (area, occurred_at DESC, event_id);
