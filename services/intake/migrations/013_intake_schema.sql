-- Intake's own schema. Intake's connections search intake, then registry
-- (services/common/db.py), so its SQL names its tables unqualified and another service's table is
-- not found there. Migrations 013-016 move every object 001-012 created in public to its owner's
-- schema; indexes, constraints, triggers and the sequences of serial columns move with their table.
CREATE SCHEMA intake;

-- The idempotency ledger (001, 005).
ALTER TABLE public.intake_events SET SCHEMA intake;
