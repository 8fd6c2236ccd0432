-- Reporting rollups for the dashboards, the provider indicator series, and the alerts read model.
--
-- The rollups form a small star: a mapped event's place in the commissioning cycle (its type,
-- stages, competencies and CDW roles) is a "mapping signature", stored once in
-- rollup_signatures; the daily facts are keyed by day x area x signature (x community x theme).
-- Together they are the rollup by day x region x area x stage x competency x CDW role x
-- community x theme (rollup_cycle_daily_v expands it), without writing stages x competencies
-- rows per event: a handful of signatures covers every event, so ingestion writes two rollup
-- rows per event and a 90-day view reads a few thousand rows.
--
-- Written by services/reporting/adapters/store.py in the same transaction as reporting_events,
-- and only for event ids that insert was new for: a replay never counts twice.

CREATE TABLE rollup_signatures (
    signature_id  bigint PRIMARY KEY,           -- first 8 bytes of sha256 over the fields below
    type          text NOT NULL CHECK (type IN ('finding', 'performance')),
    stages        smallint[] NOT NULL,
    competencies  smallint[] NOT NULL,
    cdw_roles     text[] NOT NULL
);

-- Coarse daily facts: totals, stages, competencies and the heat map for areas and regions.
CREATE TABLE rollup_area_daily (
    area             text NOT NULL,
    day              date NOT NULL,
    signature_id     bigint NOT NULL REFERENCES rollup_signatures (signature_id),
    region           text NOT NULL,
    events           integer NOT NULL,
    people_affected  bigint NOT NULL,
    unmet_need       integer NOT NULL,            -- findings whose theme names an unmet need
    PRIMARY KEY (area, day, signature_id)
);
CREATE INDEX rollup_area_daily_day ON rollup_area_daily (day);

-- Fine daily facts: by community and theme ('' when an event has none), for unmet needs,
-- trends and heat maps filtered to one community or theme.
CREATE TABLE rollup_detail_daily (
    area             text NOT NULL,
    day              date NOT NULL,
    signature_id     bigint NOT NULL REFERENCES rollup_signatures (signature_id),
    community        text NOT NULL,
    theme            text NOT NULL,
    region           text NOT NULL,
    events           integer NOT NULL,
    people_affected  bigint NOT NULL,
    severity_weight  bigint NOT NULL,             -- sum of contracts.vocabulary.SEVERITY_WEIGHTS
    high_severity    integer NOT NULL,            -- findings rated high or critical
    PRIMARY KEY (area, day, signature_id, community, theme)
);
CREATE INDEX rollup_detail_daily_day ON rollup_detail_daily (day);

-- The full grain, for ad-hoc SQL: one row per day x area x stage x competency x CDW role x
-- community x theme. Counts per cell are events; summing across stages counts an event once
-- per stage it reached (as the heat map does).
CREATE VIEW rollup_cycle_daily_v AS
SELECT d.day, d.region, d.area, s.type, st.stage, co.competency,
       coalesce(ro.cdw_role, '') AS cdw_role, d.community, d.theme,
       d.events, d.people_affected
FROM rollup_detail_daily d
JOIN rollup_signatures s USING (signature_id)
CROSS JOIN LATERAL unnest(s.stages) AS st(stage)
CROSS JOIN LATERAL unnest(s.competencies) AS co(competency)
LEFT JOIN LATERAL unnest(s.cdw_roles) AS ro(cdw_role) ON true;

-- When each area last received data: the dashboards' "data as of".
CREATE TABLE reporting_freshness (
    area              text PRIMARY KEY,
    region            text NOT NULL,
    last_ingested_at  timestamptz NOT NULL,
    last_event_day    date NOT NULL
);

-- Provider performance by period: one row per area x provider x indicator x community x period.
-- A later event for the same period (a correction) replaces the values when it occurred later.
CREATE TABLE provider_indicator_series (
    area                   text NOT NULL,
    provider_id            text NOT NULL,
    indicator              text NOT NULL,
    community              text NOT NULL,       -- '' unless the indicator is per ethnic group
    period_start           date NOT NULL,
    period_end             date NOT NULL,
    region                 text NOT NULL,
    provider_name          text NOT NULL,
    sector                 text NOT NULL,
    value                  double precision NOT NULL,
    target                 double precision,
    unit                   text,
    numerator              bigint,
    denominator            bigint,
    population_share       double precision,
    funding_committed_gbp  double precision,
    funding_required_gbp   double precision,
    contract_end_date      date,
    renewal_recorded       boolean,
    event_id               uuid NOT NULL,
    occurred_at            timestamptz NOT NULL,
    updated_at             timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (area, provider_id, indicator, community, period_start, period_end)
);
CREATE INDEX provider_indicator_series_region ON provider_indicator_series (region, indicator, period_end);
CREATE INDEX provider_indicator_series_end ON provider_indicator_series (area, period_end);

-- Alerts as the alerts service publishes them on alerts.v1, latest state per fingerprint.
CREATE TABLE reporting_alerts (
    fingerprint   text PRIMARY KEY,
    rule          text NOT NULL,
    area          text NOT NULL,
    region        text NOT NULL,
    subject       text NOT NULL,
    severity      text NOT NULL,
    status        text NOT NULL,
    summary       text NOT NULL,
    stages        smallint[] NOT NULL,
    competencies  smallint[] NOT NULL,
    evidence      jsonb NOT NULL,
    event_ids     uuid[] NOT NULL,
    starts_at     timestamptz NOT NULL,
    updated_at    timestamptz NOT NULL,
    ends_at       timestamptz,
    received_at   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX reporting_alerts_open ON reporting_alerts (area, status) WHERE status <> 'resolved';

-- Backfill from events stored before this migration (an existing stack keeps its history).
INSERT INTO rollup_signatures (signature_id, type, stages, competencies, cdw_roles)
SELECT DISTINCT ON (sig) sig, type, st, co, ro
FROM (
    SELECT type, st, co, ro,
           ('x' || substr(encode(sha256(convert_to(
               type || '|' || array_to_string(st, ',') || '|' || array_to_string(co, ',')
               || '|' || array_to_string(ro, ','), 'UTF8')), 'hex'), 1, 16))::bit(64)::bigint AS sig
    FROM (SELECT type,
                 ARRAY(SELECT DISTINCT x FROM unnest(stages) x ORDER BY x) AS st,
                 ARRAY(SELECT DISTINCT x FROM unnest(competencies) x ORDER BY x) AS co,
                 ARRAY(SELECT DISTINCT x FROM unnest(cdw_roles) x ORDER BY x) AS ro
          FROM reporting_events) e
) s
ON CONFLICT DO NOTHING;

CREATE TEMPORARY TABLE _backfill ON COMMIT DROP AS
SELECT e.*,
       ('x' || substr(encode(sha256(convert_to(
           e.type || '|' || array_to_string(ARRAY(SELECT DISTINCT x FROM unnest(e.stages) x ORDER BY x), ',')
           || '|' || array_to_string(ARRAY(SELECT DISTINCT x FROM unnest(e.competencies) x ORDER BY x), ',')
           || '|' || array_to_string(ARRAY(SELECT DISTINCT x FROM unnest(e.cdw_roles) x ORDER BY x), ','),
           'UTF8')), 'hex'), 1, 16))::bit(64)::bigint AS sig
FROM reporting_events e;

-- Unmet-need themes as contracts.vocabulary.UNMET_NEED_THEMES names them.
INSERT INTO rollup_area_daily (area, day, signature_id, region, events, people_affected, unmet_need)
SELECT area, day, sig, min(region), count(*), coalesce(sum(people_affected), 0),
       count(*) FILTER (WHERE type = 'finding' AND theme IN ('unmet_need', 'service_gap'))
FROM _backfill GROUP BY area, day, sig;

INSERT INTO rollup_detail_daily (area, day, signature_id, community, theme, region, events,
                                 people_affected, severity_weight, high_severity)
SELECT area, day, sig, coalesce(community, ''), coalesce(theme, ''), min(region), count(*),
       coalesce(sum(people_affected), 0),
       coalesce(sum(CASE severity WHEN 'low' THEN 1 WHEN 'moderate' THEN 2 WHEN 'high' THEN 3
                                  WHEN 'critical' THEN 4 ELSE 0 END), 0),
       count(*) FILTER (WHERE severity IN ('high', 'critical'))
FROM _backfill GROUP BY area, day, sig, coalesce(community, ''), coalesce(theme, '');

INSERT INTO reporting_freshness (area, region, last_ingested_at, last_event_day)
SELECT area, min(region), max(ingested_at), max(day) FROM _backfill GROUP BY area;

-- Superseded by rollup_area_daily x rollup_signatures (one row per event instead of one per
-- stage x competency pair).
DROP TABLE rollup_stage_competency_daily;
