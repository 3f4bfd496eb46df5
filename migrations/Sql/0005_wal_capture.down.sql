DROP TABLE zgres.wal_progress;
