-- Capture from the write-ahead log: where the leader (the one instance that holds the replication slot) stands.
-- Written in the same transaction as the events it decoded, so a leader killed at any point resumes exactly after
-- what the log holds: a restart decodes again from the slot's confirmed position and skips what this row covers.
CREATE TABLE zgres.wal_progress (
    slot         text        PRIMARY KEY,
    -- The commit LSN of the last writer transaction whose events went into the log: all of them when complete, else
    -- the first `written` (a large transaction is written in several batches).
    commit_lsn   pg_lsn      NOT NULL,
    written      bigint      NOT NULL,
    complete     boolean     NOT NULL,
    -- When the leader last confirmed a position to the slot: how old the slot's lag is.
    confirmed_at timestamptz NOT NULL
);
