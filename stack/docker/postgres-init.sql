-- Runs once, when the postgres container initialises an empty volume (docker-entrypoint-initdb.d).
-- The voiceloop role and database come from POSTGRES_USER/POSTGRES_DB; Apicurio keeps its schemas
-- in a database of its own so schema ids survive restarts, as in the local stack (stack/services/postgres.ts).
CREATE DATABASE apicurio OWNER voiceloop;
