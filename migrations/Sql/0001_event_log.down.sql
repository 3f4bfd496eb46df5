DROP FUNCTION zgres.event_json(zgres.events);
DROP TABLE zgres.log_state;
DROP TABLE zgres.events;
