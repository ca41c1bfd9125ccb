-- Tenant isolation enforced by PostgreSQL, not only by the job: the export job writes every
-- tenant's rows as a member of tenant_export_writer, and a dashboard login reads the rows of the
-- one tenant it is bound to and nothing else, whatever SQL it sends. See deploy/warehouse/README.md.
--
-- Runs as the migration owner (the role Flyway connects as), which owns everything below and is
-- never what the job or a dashboard connects as. The first run in a cluster needs CREATEROLE (or
-- superuser) to create the two group roles, and bind_tenant_reader runs with the owner's rights,
-- so the owner must be able to grant tenant_export_reader: CREATEROLE is enough on PostgreSQL
-- 14/15; from 16 on it takes ADMIN OPTION, which a CREATEROLE role gets on roles it creates.
-- Names are schema-qualified throughout because the functions run with a fixed search_path.

ALTER TABLE tenant_export.metric_rollup ADD COLUMN policy_version bigint NOT NULL DEFAULT 0;

COMMENT ON COLUMN tenant_export.metric_rollup.policy_version IS
    'Version of the tenant policy that produced the row (the highest among the changes folded '
    'into the window); 0 for rows written before the column existed';

-- Roles are cluster-wide, so another database of the cluster (staging beside production) may
-- have created them already; that is harmless, because each database grants them its own
-- privileges and binds its own dashboards. But every member of a group role can SET ROLE to it
-- and to whatever it is a member of, so a role of the same name that can log in, bypasses
-- row-level security, can create roles or replicate, or is a member of any role (the table owner,
-- the writer) would quietly void the policies below: such a role stops the migration instead.
DO $$
DECLARE
    group_role name;
    found_as text;
BEGIN
    FOREACH group_role IN ARRAY ARRAY['tenant_export_writer', 'tenant_export_reader']::name[] LOOP
        IF NOT EXISTS (SELECT FROM pg_catalog.pg_roles WHERE rolname = group_role) THEN
            EXECUTE pg_catalog.format('CREATE ROLE %I NOLOGIN', group_role);
        END IF;
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
        WHERE r.rolname = group_role
          AND (r.rolcanlogin OR r.rolsuper OR r.rolbypassrls OR r.rolcreaterole OR r.rolreplication
               OR EXISTS (SELECT FROM pg_catalog.pg_auth_members AS a WHERE a.member = r.oid));
        IF found_as IS NOT NULL THEN
            RAISE EXCEPTION 'role % already exists and %, so it cannot be a group role of '
                    'tenant_export', group_role, found_as
                USING HINT = 'It must be a NOLOGIN role with no other attribute and no membership.';
        END IF;
    END LOOP;
END
$$;

-- Privileges: the writer upserts (SELECT is needed for ON CONFLICT ... WHERE r.*) but never
-- deletes or truncates; the reader only selects. Neither owns the table, so row-level security
-- binds both.
REVOKE ALL ON TABLE tenant_export.metric_rollup FROM PUBLIC;
GRANT USAGE ON SCHEMA tenant_export TO tenant_export_writer, tenant_export_reader;
GRANT SELECT, INSERT, UPDATE ON TABLE tenant_export.metric_rollup TO tenant_export_writer;
GRANT SELECT ON TABLE tenant_export.metric_rollup TO tenant_export_reader;

-- Which tenant each dashboard role reads. Keyed by the role the dashboard logs in as (or SETs
-- ROLE to), not by a session setting: any role can SET or set_config() a custom setting, but it
-- cannot become a role it is not a member of. Only the owner reads or writes it, dashboards go
-- through current_tenant() and admins through bind_tenant_reader / unbind_tenant_reader.
CREATE TABLE tenant_export.tenant_reader (
    role_name name NOT NULL,
    tenant_id text NOT NULL,
    CONSTRAINT tenant_reader_pkey PRIMARY KEY (role_name),
    -- The same pattern as metric_rollup_tenant_id_valid (V1) and TenantId.PATTERN in the job.
    CONSTRAINT tenant_reader_tenant_id_valid CHECK (tenant_id ~ '^[a-z0-9][a-z0-9_-]{0,63}$')
);

COMMENT ON TABLE tenant_export.tenant_reader IS
    'Dashboard role -> the one tenant it may read; change only with bind_tenant_reader and '
    'unbind_tenant_reader';

REVOKE ALL ON TABLE tenant_export.tenant_reader FROM PUBLIC;

-- The tenant of the calling role, or NULL. SECURITY DEFINER so that dashboards need no access to
-- tenant_reader. Inside a SECURITY DEFINER function current_user is the function's owner, so the
-- caller is taken from what it cannot forge: the role it SET ROLE to (the role setting, which
-- PostgreSQL only lets a session set to a role its login is a member of; 'none' when not set),
-- else the role it logged in as (session_user, which only a superuser can change). Outside
-- SECURITY DEFINER code that is exactly current_user. STABLE: the tenant is fixed for a statement.
CREATE FUNCTION tenant_export.current_tenant() RETURNS text
    LANGUAGE sql STABLE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
    SELECT m.tenant_id
    FROM tenant_export.tenant_reader AS m
    WHERE m.role_name = COALESCE(NULLIF(current_setting('role'), 'none')::name, session_user)
$$;

REVOKE ALL ON FUNCTION tenant_export.current_tenant() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION tenant_export.current_tenant() TO tenant_export_reader;

-- Row-level security with no policy for a role means no rows at all: a role granted SELECT some
-- other way, or the owner (FORCE below), sees nothing and cannot write.
ALTER TABLE tenant_export.metric_rollup ENABLE ROW LEVEL SECURITY;

-- FORCE makes the table owner subject to row-level security as well (superusers and BYPASSRLS
-- roles never are), so a job or a dashboard misconfigured to connect as the owner gets nothing
-- instead of every tenant. Migrations still work as the owner: DDL (ADD COLUMN, CREATE INDEX,
-- ADD CONSTRAINT, which checks every row) is not filtered, and neither is Flyway's history table.
-- Only a later migration that reads or changes rows as a non-superuser owner is: its UPDATE or
-- DELETE would silently match no row and its INSERT fail. Such a migration brackets its data
-- statements with ALTER TABLE ... NO FORCE ROW LEVEL SECURITY and ... FORCE ROW LEVEL SECURITY;
-- Flyway runs each migration in one transaction and ALTER TABLE locks the table until commit,
-- so no other session ever sees the table unforced.
ALTER TABLE tenant_export.metric_rollup FORCE ROW LEVEL SECURITY;

-- A dashboard reads its own tenant's rows only. The sub-select makes current_tenant() run once
-- per query rather than once per row (it is not inlined, being SECURITY DEFINER), and still
-- lets the (tenant_id, window_start) index serve the filter. No tenant (NULL) matches no row.
CREATE POLICY reader_reads_own_tenant ON tenant_export.metric_rollup
    AS PERMISSIVE FOR SELECT TO tenant_export_reader
    USING (tenant_id = (SELECT tenant_export.current_tenant()));

-- The job writes every tenant; the check repeats V1's constraint so that even a writer with the
-- constraint dropped cannot store a row under a name that is not a tenant id. DELETE is covered
-- by FOR ALL but not granted.
CREATE POLICY writer_writes_valid_tenants ON tenant_export.metric_rollup
    AS PERMISSIVE FOR ALL TO tenant_export_writer
    USING (true)
    WITH CHECK (tenant_id ~ '^[a-z0-9][a-z0-9_-]{0,63}$');

-- Binds a dashboard role to a tenant: records the mapping and grants tenant_export_reader. Run by
-- the owner or an admin it granted EXECUTE to. It refuses any role that would not be held by the
-- reader policy, or would let others escape it:
--   * a role that is, or can SET ROLE to, a superuser, a BYPASSRLS role or the table owner (not
--     bound by row-level security, or able to switch it off), a CREATEROLE role or a holder of
--     ADMIN OPTION (could grant itself tenant_export_writer or another dashboard's role), a
--     REPLICATION role or one with access to the server's files (could copy the data files);
--   * a member of tenant_export_writer (the writer policy shows every tenant);
--   * tenant_export_reader itself or a role it is a member of: every dashboard is a member of
--     tenant_export_reader and so could SET ROLE to that role and read its tenant.
-- These hold when binding; granting such a role to a bound role later is up to the admins not to
-- do (README). A role already bound to a different tenant must be unbound first, so a typo
-- cannot silently move a dashboard to another tenant.
CREATE FUNCTION tenant_export.bind_tenant_reader(role_name name, tenant_id text) RETURNS void
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    role_oid oid;
    reader_oid oid := (SELECT oid FROM pg_catalog.pg_roles WHERE rolname = 'tenant_export_reader');
    table_owner oid := (SELECT relowner FROM pg_catalog.pg_class
                        WHERE oid = 'tenant_export.metric_rollup'::regclass);
    unrestricted record;
    bound_to text;
BEGIN
    IF bind_tenant_reader.tenant_id IS NULL
            OR bind_tenant_reader.tenant_id !~ '^[a-z0-9][a-z0-9_-]{0,63}$' THEN
        RAISE EXCEPTION 'cannot bind role %: tenant id % is not a tenant id',
                bind_tenant_reader.role_name, quote_nullable(bind_tenant_reader.tenant_id)
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'A tenant id matches ^[a-z0-9][a-z0-9_-]{0,63}$.';
    END IF;
    SELECT r.oid INTO role_oid FROM pg_roles AS r WHERE r.rolname = bind_tenant_reader.role_name;
    IF role_oid IS NULL THEN
        RAISE EXCEPTION 'cannot bind role %: no such role', bind_tenant_reader.role_name
            USING ERRCODE = 'undefined_object';
    END IF;

    -- The role itself first, then the roles it can SET ROLE to, by name.
    SELECT r.rolname AS via,
           CASE WHEN r.rolsuper THEN 'a superuser'
                WHEN r.rolbypassrls THEN 'a role with BYPASSRLS'
                WHEN r.rolreplication THEN 'a role with REPLICATION, which can copy every file'
                WHEN r.rolcreaterole THEN 'a role with CREATEROLE, which can grant itself roles'
                WHEN r.oid = table_owner THEN 'the owner of tenant_export.metric_rollup, which can'
                    ' switch row-level security off'
                WHEN r.rolname IN ('pg_read_server_files', 'pg_write_server_files',
                                   'pg_execute_server_program')
                    THEN 'a role with access to the server''s files'
                ELSE 'a role with ADMIN OPTION on another role, which it can grant itself'
           END AS what
    INTO unrestricted
    FROM pg_roles AS r
    WHERE (r.rolsuper OR r.rolbypassrls OR r.rolreplication OR r.rolcreaterole
           OR r.oid = table_owner
           OR r.rolname IN ('pg_read_server_files', 'pg_write_server_files',
                            'pg_execute_server_program')
           OR EXISTS (SELECT FROM pg_auth_members AS a WHERE a.member = r.oid AND a.admin_option))
      AND pg_has_role(role_oid, r.oid, 'MEMBER')
    ORDER BY r.oid <> role_oid, r.rolname
    LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'cannot bind role % to tenant %: %', bind_tenant_reader.role_name,
                bind_tenant_reader.tenant_id,
                CASE WHEN unrestricted.via = bind_tenant_reader.role_name THEN 'it is '
                     ELSE format('it can SET ROLE to %I, ', unrestricted.via) END
                || unrestricted.what
            USING ERRCODE = 'insufficient_privilege',
                  HINT = 'Row-level security only holds a role that cannot escape it.';
    END IF;
    IF pg_has_role(role_oid, 'tenant_export_writer', 'MEMBER') THEN
        RAISE EXCEPTION 'cannot bind role % to tenant %: it is a member of tenant_export_writer,'
                ' which reads every tenant', bind_tenant_reader.role_name, bind_tenant_reader.tenant_id
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    IF pg_has_role(reader_oid, role_oid, 'MEMBER') THEN
        RAISE EXCEPTION 'cannot bind role % to tenant %: every member of tenant_export_reader'
                ' could SET ROLE to it', bind_tenant_reader.role_name, bind_tenant_reader.tenant_id
            USING ERRCODE = 'insufficient_privilege';
    END IF;

    INSERT INTO tenant_export.tenant_reader AS m (role_name, tenant_id)
    VALUES (bind_tenant_reader.role_name, bind_tenant_reader.tenant_id)
    ON CONFLICT ON CONSTRAINT tenant_reader_pkey DO NOTHING;
    SELECT m.tenant_id INTO bound_to
    FROM tenant_export.tenant_reader AS m
    WHERE m.role_name = bind_tenant_reader.role_name;
    IF bound_to <> bind_tenant_reader.tenant_id THEN
        RAISE EXCEPTION 'cannot bind role % to tenant %: it is bound to tenant %',
                bind_tenant_reader.role_name, bind_tenant_reader.tenant_id, bound_to
            USING ERRCODE = 'unique_violation',
                  HINT = 'Run tenant_export.unbind_tenant_reader first to move it.';
    END IF;

    IF NOT EXISTS (SELECT FROM pg_auth_members AS a
                   WHERE a.roleid = reader_oid AND a.member = role_oid) THEN
        EXECUTE format('GRANT tenant_export_reader TO %I', bind_tenant_reader.role_name);
    END IF;
END
$$;

-- Undoes bind_tenant_reader: forgets the mapping and revokes tenant_export_reader; true when the
-- role was bound. Works for a role that was dropped meanwhile, whose mapping would otherwise stay
-- to be inherited by a new role of the same name. The role's sessions lose access at their next
-- statement.
CREATE FUNCTION tenant_export.unbind_tenant_reader(role_name name) RETURNS boolean
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    was_bound boolean;
BEGIN
    DELETE FROM tenant_export.tenant_reader AS m WHERE m.role_name = unbind_tenant_reader.role_name;
    was_bound := FOUND;
    IF EXISTS (SELECT FROM pg_auth_members AS a
               JOIN pg_roles AS g ON g.oid = a.roleid AND g.rolname = 'tenant_export_reader'
               JOIN pg_roles AS r ON r.oid = a.member AND r.rolname = unbind_tenant_reader.role_name) THEN
        EXECUTE format('REVOKE tenant_export_reader FROM %I', unbind_tenant_reader.role_name);
    END IF;
    RETURN was_bound;
END
$$;

-- Functions are executable by PUBLIC unless revoked; these are for the owner and the admins it
-- grants EXECUTE to.
REVOKE ALL ON FUNCTION tenant_export.bind_tenant_reader(name, text) FROM PUBLIC;
REVOKE ALL ON FUNCTION tenant_export.unbind_tenant_reader(name) FROM PUBLIC;
