-- Sessions of the supervisors' web console: the cookie holds a random token, the row its SHA-256.
-- Logging out (or an idle/absolute timeout) ends the row; account disabling ends it through the
-- same check that builds a Caller from any credential.
CREATE TABLE console_sessions (
    id TEXT PRIMARY KEY NOT NULL,
    user_id TEXT NOT NULL REFERENCES users(id),
    token_hash TEXT NOT NULL UNIQUE,
    csrf_token TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    last_seen_at TIMESTAMP NOT NULL,
    expires_at TIMESTAMP NOT NULL,
    ended_at TIMESTAMP,
    ended_reason TEXT
);
CREATE INDEX console_sessions_user ON console_sessions(user_id);
