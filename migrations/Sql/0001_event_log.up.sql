CREATE SCHEMA IF NOT EXISTS zgres;

-- One row per committed change of a watched table. Written by zgres.notify_trigger() in the
-- writer's transaction, so the log holds exactly the changes that committed.
CREATE TABLE zgres.events (
    -- Taken at write time, so a long transaction can commit an id lower than ids already delivered.
    id            bigint GENERATED ALWAYS AS IDENTITY (CACHE 1) PRIMARY KEY,
    -- The writer's transaction.
    xid           xid8        NOT NULL,
    -- Every transaction older than this had finished when the event was written: a resume after
    -- this event must also replay events of transactions at or above it (they may commit later).
    snapshot_xmin xid8        NOT NULL,
    created_at    timestamptz NOT NULL,
    schema_name   text        NOT NULL,
    table_name    text        NOT NULL,
    operation     text        NOT NULL,
    input_id      text,
    -- json, not jsonb: keeps column order and the text of json columns exactly.
    data          json        NOT NULL,
    old           json
);

-- Resume reads "id > after OR xid >= snapshot_xmin(after)": both sides need an index.
CREATE INDEX events_xid ON zgres.events (xid);

-- What retention has removed, so a resume from before it can report the gap.
CREATE TABLE zgres.log_state (
    singleton      boolean PRIMARY KEY DEFAULT true CHECK (singleton),
    pruned_through bigint  NOT NULL DEFAULT 0
);
INSERT INTO zgres.log_state DEFAULT VALUES;
