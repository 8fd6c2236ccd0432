-- Funding flows (contracts.funding): the share of an alliance's money each member is due, kept
-- with the alliance in the organisation registry, and what the reports read of each flow.

-- An alliance member's share of what its lead body is paid for the alliance, 0 to 1 (null: not
-- set). "This was then shared out depending on which partner is leading on delivering which
-- part of the co-produced model" (004:282).
ALTER TABLE organisation_members
    ADD COLUMN share double precision CHECK (share IS NULL OR (share >= 0 AND share <= 1));

-- reporting_events keeps a funding flow's data (kind, reference, payer, payee, amount, period,
-- alliance, grant terms) as the event carried it, for the funding chain and small-grants reports.
ALTER TABLE reporting_events ADD COLUMN funding jsonb;
CREATE INDEX reporting_events_funding ON reporting_events (area, occurred_at) WHERE type = 'funding';
