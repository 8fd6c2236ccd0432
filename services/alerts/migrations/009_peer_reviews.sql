-- Peer review returns of Focused Implementation Sites (the alerts service), as mapped: one row per
-- return, keyed by its event id, so a replayed return is stored once. Its recommendations are
-- rows of ``recommendations`` whose record names the return (``peer_review_id``).
CREATE TABLE peer_reviews (
    id               uuid PRIMARY KEY,
    area             text NOT NULL,
    organisation_id  text NOT NULL,
    reviewed_on      date NOT NULL,
    recorded_at      timestamptz NOT NULL,
    mapped           jsonb NOT NULL
);
CREATE INDEX peer_reviews_area ON peer_reviews (area, reviewed_on DESC);
