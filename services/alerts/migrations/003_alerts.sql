-- Alerts: per-area rule state, the alert store and its audit trail, silences, subscriptions,
-- threshold overrides, and two outboxes written in the same transaction as the state: one for
-- notifications to commissioners (with a delivery log) and one for alerts.v1 records.

-- What an area's rules remember (services.alerts.domain.state.AreaState as JSON), locked
-- FOR UPDATE by whoever changes the area's alerts, so the worker, its timer and the API queue.
CREATE TABLE alert_area_state (
    area           text PRIMARY KEY,
    state          jsonb NOT NULL,
    version        bigint NOT NULL DEFAULT 0,
    next_check_at  timestamptz NOT NULL DEFAULT now(),
    updated_at     timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX alert_area_state_next_check ON alert_area_state (next_check_at);

-- Every mapped event the alerts worker has applied: a replay finds its id here and changes nothing.
CREATE TABLE alert_events_seen (
    event_id    uuid PRIMARY KEY,
    area        text NOT NULL,
    seen_at     timestamptz NOT NULL DEFAULT now()
);

-- One row per alert (fingerprint = hash of rule, area, subject). Columns for querying;
-- ``record`` is the lifecycle's AlertRecord as JSON, the source of truth for the lifecycle.
CREATE TABLE alerts (
    fingerprint           text PRIMARY KEY CHECK (fingerprint ~ '^[0-9a-f]{16,64}$'),
    rule                  text NOT NULL,
    area                  text NOT NULL,
    region                text NOT NULL,
    subject               text NOT NULL,
    severity              text NOT NULL CHECK (severity IN ('amber', 'red')),
    status                text NOT NULL CHECK (status IN ('firing', 'acknowledged', 'resolved')),
    summary               text NOT NULL,
    stages                smallint[] NOT NULL,
    competencies          smallint[] NOT NULL,
    evidence              jsonb NOT NULL,
    event_ids             uuid[] NOT NULL,
    starts_at             timestamptz NOT NULL,
    updated_at            timestamptz NOT NULL,
    ends_at               timestamptz,
    acknowledged_by       text,
    acknowledged_at       timestamptz,
    acknowledgement_note  text,
    resolved_by           text,
    resolution_note       text,
    silenced              boolean NOT NULL DEFAULT false,
    inhibited_by          text,
    record                jsonb NOT NULL,
    UNIQUE (rule, area, subject)
);
CREATE INDEX alerts_area_status ON alerts (area, status, updated_at DESC);
CREATE INDEX alerts_status_updated ON alerts (status, updated_at DESC);

-- Notification groups (Alertmanager's aggregation groups) and when each was last told.
CREATE TABLE alert_groups (
    group_key   text PRIMARY KEY,
    area        text NOT NULL,
    labels      jsonb NOT NULL,
    record      jsonb NOT NULL,
    updated_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX alert_groups_area ON alert_groups (area);

-- Append-only audit trail: every change of an alert's state, who made it and why.
CREATE TABLE alert_audit (
    id           bigserial PRIMARY KEY,
    fingerprint  text NOT NULL REFERENCES alerts (fingerprint),
    at           timestamptz NOT NULL,
    action       text NOT NULL,
    from_status  text,
    to_status    text NOT NULL,
    severity     text NOT NULL,
    actor        text,            -- NULL: the platform itself (a rule fired or cleared)
    key_id       text,            -- the API key that acted, for people's actions
    note         text,
    recorded_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX alert_audit_fingerprint ON alert_audit (fingerprint, id);

CREATE FUNCTION alert_audit_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'alert_audit is append-only';
END $$;
CREATE TRIGGER alert_audit_no_update BEFORE UPDATE OR DELETE ON alert_audit
    FOR EACH ROW EXECUTE FUNCTION alert_audit_append_only();

-- Silences mute notifications (never state) between starts_at and ends_at. Expiring one sets
-- ends_at; rows are kept for the record.
CREATE TABLE alert_silences (
    id           uuid PRIMARY KEY,
    created_by   text NOT NULL,
    key_id       text,
    reason       text NOT NULL,
    starts_at    timestamptz NOT NULL,
    ends_at      timestamptz NOT NULL,
    area         text,
    rule         text,
    subject      text,
    fingerprint  text,
    created_at   timestamptz NOT NULL DEFAULT now(),
    CHECK (ends_at > starts_at),
    CHECK (area IS NOT NULL OR rule IS NOT NULL OR subject IS NOT NULL OR fingerprint IS NOT NULL)
);
CREATE INDEX alert_silences_ends ON alert_silences (ends_at);

-- Commissioners' subscriptions. ``secret`` signs webhooks (HMAC needs the secret itself); it is
-- shown once at creation and never logged or returned again.
CREATE TABLE alert_subscriptions (
    id               uuid PRIMARY KEY,
    organisation_id  text NOT NULL,
    created_by_key   text NOT NULL,
    areas            text[] NOT NULL CHECK (cardinality(areas) > 0),
    min_severity     text NOT NULL CHECK (min_severity IN ('amber', 'red')),
    rules            text[] NOT NULL DEFAULT '{}',
    channel          text NOT NULL CHECK (channel IN ('webhook', 'email')),
    target           text NOT NULL,
    secret           text,
    active           boolean NOT NULL DEFAULT true,
    created_at       timestamptz NOT NULL DEFAULT now(),
    deleted_at       timestamptz,
    CHECK (channel <> 'webhook' OR secret IS NOT NULL)
);
CREATE INDEX alert_subscriptions_areas ON alert_subscriptions USING gin (areas) WHERE active;

-- Per-area threshold overrides (validated by services.alerts.domain.thresholds.AreaThresholds).
CREATE TABLE alert_thresholds (
    area        text PRIMARY KEY,
    thresholds  jsonb NOT NULL,
    updated_by  text NOT NULL,
    updated_at  timestamptz NOT NULL DEFAULT now()
);

-- Notification outbox: one row per (notification intent, subscription), written with the
-- state change that caused it; the delivery loop claims due rows (FOR UPDATE SKIP LOCKED).
CREATE TABLE alert_notifications (
    id               uuid PRIMARY KEY,
    subscription_id  uuid NOT NULL REFERENCES alert_subscriptions (id),
    channel          text NOT NULL,
    area             text NOT NULL,
    group_key        text NOT NULL,
    reason           text NOT NULL,
    status           text NOT NULL CHECK (status IN ('firing', 'resolved')),
    fingerprints     text[] NOT NULL,
    payload          jsonb NOT NULL,
    state            text NOT NULL DEFAULT 'pending'
                         CHECK (state IN ('pending', 'delivered', 'failed', 'cancelled')),
    attempts         integer NOT NULL DEFAULT 0,
    next_attempt_at  timestamptz NOT NULL DEFAULT now(),
    lease_until      timestamptz,
    last_error       text,
    created_at       timestamptz NOT NULL DEFAULT now(),
    delivered_at     timestamptz
);
CREATE INDEX alert_notifications_due ON alert_notifications (next_attempt_at) WHERE state = 'pending';
CREATE INDEX alert_notifications_fingerprints ON alert_notifications USING gin (fingerprints);

-- Delivery log: every attempt, its HTTP status or SMTP reply, and how long it took.
CREATE TABLE alert_deliveries (
    id               bigserial PRIMARY KEY,
    notification_id  uuid NOT NULL REFERENCES alert_notifications (id),
    attempt          integer NOT NULL,
    at               timestamptz NOT NULL DEFAULT now(),
    outcome          text NOT NULL CHECK (outcome IN ('delivered', 'retry', 'failed')),
    status_code      integer,
    error            text,
    duration_ms      double precision NOT NULL
);
CREATE INDEX alert_deliveries_notification ON alert_deliveries (notification_id, attempt);

-- alerts.v1 outbox: alert changes to publish, keyed by area, in id order.
CREATE TABLE alert_publications (
    id            bigserial PRIMARY KEY,
    area          text NOT NULL,
    fingerprint   text NOT NULL,
    payload       jsonb NOT NULL,
    created_at    timestamptz NOT NULL DEFAULT now(),
    published_at  timestamptz
);
CREATE INDEX alert_publications_pending ON alert_publications (id) WHERE published_at IS NULL;
