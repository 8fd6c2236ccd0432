-- Reporting: one row per mapped event (the dedupe ledger and drill-down source) and daily rollups.
CREATE TABLE reporting_events (
    event_id         uuid PRIMARY KEY,
    type             text NOT NULL,
    source           text NOT NULL,
    region           text NOT NULL,
    area             text NOT NULL,
    occurred_at      timestamptz NOT NULL,
    day              date NOT NULL,
    community        text,
    theme            text,
    severity         text,
    people_affected  integer,
    finding_source   text,
    summary          text,
    provider_id      text,
    provider_sector  text,
    indicator        text,
    value            double precision,
    target           double precision,
    stages           smallint[] NOT NULL,
    competencies     smallint[] NOT NULL,
    cdw_roles        text[] NOT NULL,
    plans            text[] NOT NULL,
    rule_ids         text[] NOT NULL,
    rules_version    text NOT NULL,
    mapped_at        timestamptz NOT NULL,
    ingested_at      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX reporting_events_area_day ON reporting_events (area, day);
CREATE INDEX reporting_events_region_day ON reporting_events (region, day);

-- Daily rollup by stage x competency: where the evidence sits in the commissioning cycle.
-- Written in the same transaction as reporting_events, only when that insert was new.
CREATE TABLE rollup_stage_competency_daily (
    day          date NOT NULL,
    region       text NOT NULL,
    area         text NOT NULL,
    stage        smallint NOT NULL,
    competency   smallint NOT NULL,
    events       integer NOT NULL,
    PRIMARY KEY (area, day, stage, competency)
);
CREATE INDEX rollup_scd_region_day ON rollup_stage_competency_daily (region, day);
