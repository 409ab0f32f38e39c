DROP TABLE refresh_tokens;
DROP TABLE role_assignments;
DROP TABLE users;
DROP TABLE org_units;
