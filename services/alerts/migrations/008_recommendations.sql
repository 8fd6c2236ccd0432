-- Community recommendations and commissioners' answers (the alerts service). A finding that
-- carries a recommendation opens one row here, keyed by the finding's event id, in the same
-- transaction as the alerts worker's turn; answers are appended, never changed, and published to
-- recommendations.responses.v1 from an outbox written in the same transaction.

-- One row per recommendation. Columns for querying; ``record`` is the domain's Recommendation as
-- JSON (services.alerts.domain.recommendations), the source of truth.
CREATE TABLE recommendations (
    id               uuid PRIMARY KEY,
    area             text NOT NULL,
    organisation_id  text NOT NULL,
    community        text NOT NULL,
    status           text NOT NULL CHECK (status IN ('awaiting_response', 'accepted',
                         'partly_accepted', 'not_accepted', 'completed')),
    is_open          boolean NOT NULL,
    made_at          timestamptz NOT NULL,
    due_date         date,
    updated_at       timestamptz NOT NULL,
    record           jsonb NOT NULL
);
CREATE INDEX recommendations_area ON recommendations (area, made_at DESC);
CREATE INDEX recommendations_open ON recommendations (area) WHERE is_open;

-- Every answer, as its event (RecommendationResponse), who gave it with which key, and when:
-- the audit trail. ``id`` is the response id, so the same answer sent twice is stored once.
CREATE TABLE recommendation_responses (
    id                 uuid PRIMARY KEY,
    recommendation_id  uuid NOT NULL REFERENCES recommendations (id),
    area               text NOT NULL,
    actor              text NOT NULL,
    key_id             text NOT NULL,
    at                 timestamptz NOT NULL,
    event              jsonb NOT NULL,
    recorded_at        timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX recommendation_responses_recommendation ON recommendation_responses (recommendation_id, at);

CREATE FUNCTION recommendation_responses_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'recommendation_responses is append-only';
END $$;
CREATE TRIGGER recommendation_responses_no_update BEFORE UPDATE OR DELETE ON recommendation_responses
    FOR EACH ROW EXECUTE FUNCTION recommendation_responses_append_only();

-- recommendations.responses.v1 outbox: answers to publish, keyed by area, in id order.
CREATE TABLE recommendation_publications (
    id            bigserial PRIMARY KEY,
    area          text NOT NULL,
    response_id   uuid NOT NULL UNIQUE,
    payload       jsonb NOT NULL,
    created_at    timestamptz NOT NULL DEFAULT now(),
    published_at  timestamptz
);
CREATE INDEX recommendation_publications_pending ON recommendation_publications (id)
    WHERE published_at IS NULL;
