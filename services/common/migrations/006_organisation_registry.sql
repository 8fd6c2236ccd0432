-- The organisation registry: the areas each organisation serves, the provider ids it reports for,
-- and alliances (a lead body reports for its members). Intake refuses a partner's event for an
-- area its organisation does not serve, or for a provider registered to another organisation.
ALTER TABLE organisations
    ADD COLUMN areas        text[] NOT NULL DEFAULT '{}',
    ADD COLUMN provider_ids text[] NOT NULL DEFAULT '{}',
    ADD COLUMN updated_at   timestamptz NOT NULL DEFAULT now();

CREATE TABLE organisation_members (
    lead_id    text NOT NULL REFERENCES organisations (id),
    member_id  text NOT NULL REFERENCES organisations (id),
    PRIMARY KEY (lead_id, member_id),
    CHECK (lead_id <> member_id)
);

-- Who a provider id is registered to: its own organisation, or one that lists it.
CREATE INDEX organisations_provider_ids ON organisations USING gin (provider_ids);
