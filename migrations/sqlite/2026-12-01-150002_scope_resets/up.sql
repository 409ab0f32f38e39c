-- Accounts whose phones must pull afresh although their roles did not change: a place moved or
-- merged (区划调整) into or out of a subtree they hold a role on. The stamp is part of the pull
-- cursor's scope, so a cursor made before the change answers `reset: true`.
CREATE TABLE scope_resets (
    user_id  TEXT PRIMARY KEY NOT NULL REFERENCES users (id),
    stamp    TEXT NOT NULL,
    reset_at TIMESTAMP NOT NULL
);
