-- The export registry: one append-only row per operation on the running job (deploy, savepoint,
-- upgrade, rollback, automatic rollback, stop), written by the operator CLI (tenant-export job ...).
-- It is where the CLI learns which jar and job are current and which came before: nothing about a
-- deployment is kept in local files. See deploy/warehouse/README.md, "Export registry".
--
-- Written by members of tenant_export_operator, a group role of its own rather than
-- tenant_export_writer: the writer's login is configured on every TaskManager (the job writes the
-- rollups with it), and the record of what was deployed must not be writable by the deployed
-- code. The operator role may only INSERT and SELECT here; it has no access to the rollups.
-- The table has no tenant column and no tenant may see it: nothing is granted to
-- tenant_export_reader, and forced row-level security with policies for the operator role only
-- means a role granted SELECT some other way (or the owner) still sees no row.

DO $$
DECLARE
    found_as text;
BEGIN
    IF NOT EXISTS (SELECT FROM pg_catalog.pg_roles WHERE rolname = 'tenant_export_operator') THEN
        CREATE ROLE tenant_export_operator NOLOGIN;
    END IF;
    -- As for the group roles of V2: a pre-existing role of that name that can log in, bypasses
    -- row-level security, creates roles, replicates or is a member of any role would let more
    -- than its members append to the registry.
    SELECT CASE
               WHEN r.rolcanlogin OR r.rolsuper OR r.rolbypassrls OR r.rolcreaterole
                    OR r.rolreplication
                   THEN 'has one of LOGIN, SUPERUSER, BYPASSRLS, CREATEROLE, REPLICATION'
               ELSE 'is a member of '
                    || (SELECT pg_catalog.string_agg(a.roleid::pg_catalog.regrole::text, ', ')
                        FROM pg_catalog.pg_auth_members AS a WHERE a.member = r.oid)
           END
    INTO found_as
    FROM pg_catalog.pg_roles AS r
    WHERE r.rolname = 'tenant_export_operator'
      AND (r.rolcanlogin OR r.rolsuper OR r.rolbypassrls OR r.rolcreaterole OR r.rolreplication
           OR EXISTS (SELECT FROM pg_catalog.pg_auth_members AS a WHERE a.member = r.oid));
    IF found_as IS NOT NULL THEN
        RAISE EXCEPTION 'role tenant_export_operator already exists and %, so it cannot be a '
                'group role of tenant_export', found_as
            USING HINT = 'It must be a NOLOGIN role with no other attribute and no membership.';
    END IF;
END
$$;

CREATE TABLE tenant_export.export_registry (
    id             bigserial   PRIMARY KEY,
    at             timestamptz NOT NULL DEFAULT now(),
    action         text        NOT NULL,
    -- The Flink job the action concerns: the job started (deploy, upgrade, rollback,
    -- rollback-auto), or the job savepointed or stopped.
    job_id         text,
    -- '<file name> sha256:<hex>' of the jar the job runs.
    jar            text,
    -- Where the CLI read the jar, so that a rollback can upload it again (after checking its
    -- sha256 against jar).
    jar_path       text,
    -- The program arguments the job was started with (JSON array of strings), so that a rollback
    -- starts the previous jar exactly as it ran before.
    program_args   text,
    job_version    text,
    export_version integer,
    -- deploy/upgrade/rollback: the savepoint the job started from; savepoint/stop: the one taken.
    -- An upgrade's savepoint is the pre-upgrade savepoint a rollback returns to.
    savepoint_path text,
    outcome        text        NOT NULL,
    detail         text,
    CONSTRAINT export_registry_action_valid
        CHECK (action IN ('deploy', 'savepoint', 'upgrade', 'rollback', 'rollback-auto', 'stop')),
    CONSTRAINT export_registry_outcome_valid CHECK (outcome IN ('ok', 'failed'))
);

COMMENT ON TABLE tenant_export.export_registry IS
    'Append-only history of operations on the export job (tenant-export job ...); the current jar '
    'is the last successful deploy/upgrade/rollback/rollback-auto';

-- Append-only: no role but the owner holds UPDATE, DELETE or TRUNCATE, and the triggers refuse
-- them even to the owner (who would have to drop a trigger first, which is itself DDL on record).
REVOKE ALL ON TABLE tenant_export.export_registry FROM PUBLIC;
REVOKE UPDATE, DELETE, TRUNCATE ON TABLE tenant_export.export_registry FROM tenant_export_writer,
    tenant_export_reader, tenant_export_operator;

CREATE FUNCTION tenant_export.export_registry_refuse_change() RETURNS trigger
    LANGUAGE plpgsql
    SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    RAISE EXCEPTION 'tenant_export.export_registry is append-only: % refused', TG_OP
        USING ERRCODE = 'insufficient_privilege',
              HINT = 'Record a correction as a new row.';
END
$$;

REVOKE ALL ON FUNCTION tenant_export.export_registry_refuse_change() FROM PUBLIC;

CREATE TRIGGER export_registry_no_update_delete
    BEFORE UPDATE OR DELETE ON tenant_export.export_registry
    FOR EACH ROW EXECUTE FUNCTION tenant_export.export_registry_refuse_change();

CREATE TRIGGER export_registry_no_truncate
    BEFORE TRUNCATE ON tenant_export.export_registry
    FOR EACH STATEMENT EXECUTE FUNCTION tenant_export.export_registry_refuse_change();

GRANT USAGE ON SCHEMA tenant_export TO tenant_export_operator;
GRANT SELECT, INSERT ON TABLE tenant_export.export_registry TO tenant_export_operator;
GRANT USAGE ON SEQUENCE tenant_export.export_registry_id_seq TO tenant_export_operator;

ALTER TABLE tenant_export.export_registry ENABLE ROW LEVEL SECURITY;
ALTER TABLE tenant_export.export_registry FORCE ROW LEVEL SECURITY;

CREATE POLICY operator_reads ON tenant_export.export_registry
    AS PERMISSIVE FOR SELECT TO tenant_export_operator
    USING (true);

CREATE POLICY operator_appends ON tenant_export.export_registry
    AS PERMISSIVE FOR INSERT TO tenant_export_operator
    WITH CHECK (true);
