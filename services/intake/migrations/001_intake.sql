-- Organisations, their API keys, and the intake idempotency ledger.
CREATE TABLE organisations (
    id          text PRIMARY KEY CHECK (id ~ '^[a-z0-9][a-z0-9-]{1,62}$'),
    name        text NOT NULL,
    kind        text NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now()
);

-- Keys are stored as SHA-256 of the secret (the secret is 256 random bits, so a fast hash is
-- enough); key_id is the public prefix shown in listings and logs.
CREATE TABLE api_keys (
    key_id          text PRIMARY KEY,
    secret_sha256   bytea NOT NULL,
    organisation_id text NOT NULL REFERENCES organisations (id),
    role            text NOT NULL CHECK (role IN ('partner', 'commissioner', 'operator')),
    areas           text[] NOT NULL DEFAULT '{}',
    label           text NOT NULL DEFAULT '',
    created_at      timestamptz NOT NULL DEFAULT now(),
    revoked_at      timestamptz
);
CREATE INDEX api_keys_organisation ON api_keys (organisation_id);

-- One row per event_id ever offered to intake. 'pending' until the broker acknowledged it.
CREATE TABLE intake_events (
    event_id        uuid PRIMARY KEY,
    organisation_id text NOT NULL,
    type            text NOT NULL,
    area            text NOT NULL,
    body_sha256     bytea NOT NULL,
    status          text NOT NULL CHECK (status IN ('pending', 'published')),
    topic           text,
    kafka_partition integer,
    kafka_offset    bigint,
    received_at     timestamptz NOT NULL DEFAULT now(),
    published_at    timestamptz
);
CREATE INDEX intake_events_received ON intake_events (received_at);
