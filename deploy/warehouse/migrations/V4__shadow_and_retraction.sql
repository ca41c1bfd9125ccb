-- Operations on the rollups (issue: operations on a real Flink cluster). Two additions:
--
-- 1. A shadow namespace for canaries. A candidate jar runs for an allow-list of tenants with
--    warehouse.schema = tenant_export_shadow, and `tenant-export reconcile` compares its rows with
--    the live ones. The shadow table is a copy of the live table's definition (columns, generated
--    column, constraints, key, indexes) and is isolated the same way: forced row-level security,
--    the job writes through tenant_export_writer, nobody deletes. Dashboards (tenant_export_reader)
--    get nothing here: shadow numbers are not for tenants.
--
-- 2. Retraction. A rollback to an earlier export version, or a replay, takes back rows an export
--    version wrote: they move, in one statement, to tenant_export.metric_rollup_retracted (never
--    just deleted, so what a dashboard showed stays on record). Operators (tenant_export_operator,
--    the CLI's registry login, never the job's writer login) may read every rollup and delete
--    rollups for that purpose; they still cannot insert or update one.

CREATE SCHEMA tenant_export_shadow;
COMMENT ON SCHEMA tenant_export_shadow IS
    'tenant-export canary outputs (warehouse.schema = tenant_export_shadow); compared by reconcile';

CREATE TABLE tenant_export_shadow.metric_rollup (LIKE tenant_export.metric_rollup INCLUDING ALL);
COMMENT ON TABLE tenant_export_shadow.metric_rollup IS
    'tenant-export canary rollups: same definition as tenant_export.metric_rollup, for reconcile';

REVOKE ALL ON SCHEMA tenant_export_shadow FROM PUBLIC;
REVOKE ALL ON TABLE tenant_export_shadow.metric_rollup FROM PUBLIC;
GRANT USAGE ON SCHEMA tenant_export_shadow TO tenant_export_writer, tenant_export_operator;
GRANT SELECT, INSERT, UPDATE ON TABLE tenant_export_shadow.metric_rollup TO tenant_export_writer;
GRANT SELECT, DELETE ON TABLE tenant_export_shadow.metric_rollup TO tenant_export_operator;

ALTER TABLE tenant_export_shadow.metric_rollup ENABLE ROW LEVEL SECURITY;
ALTER TABLE tenant_export_shadow.metric_rollup FORCE ROW LEVEL SECURITY;

CREATE POLICY writer_writes_valid_tenants ON tenant_export_shadow.metric_rollup
    AS PERMISSIVE FOR ALL TO tenant_export_writer
    USING (true)
    WITH CHECK (tenant_id ~ '^[a-z0-9][a-z0-9_-]{0,63}$');

-- Reconcile reads both tables; a canary's rows are cleared before the next canary.
CREATE POLICY operator_reads ON tenant_export_shadow.metric_rollup
    AS PERMISSIVE FOR SELECT TO tenant_export_operator
    USING (true);
CREATE POLICY operator_clears ON tenant_export_shadow.metric_rollup
    AS PERMISSIVE FOR DELETE TO tenant_export_operator
    USING (true);

CREATE POLICY operator_reads ON tenant_export.metric_rollup
    AS PERMISSIVE FOR SELECT TO tenant_export_operator
    USING (true);
CREATE POLICY operator_retracts ON tenant_export.metric_rollup
    AS PERMISSIVE FOR DELETE TO tenant_export_operator
    USING (true);
GRANT SELECT, DELETE ON TABLE tenant_export.metric_rollup TO tenant_export_operator;

-- Retracted rows, as they were, with when and why (the export registry row of the operation).
CREATE TABLE tenant_export.metric_rollup_retracted (
    LIKE tenant_export.metric_rollup INCLUDING DEFAULTS INCLUDING CONSTRAINTS,
    retracted_at  timestamptz NOT NULL DEFAULT now(),
    retracted_by  text        NOT NULL
);
COMMENT ON TABLE tenant_export.metric_rollup_retracted IS
    'rollups taken back by a rollback or replay (tenant-export job rollback / replay), as they were';
CREATE INDEX metric_rollup_retracted_tenant ON tenant_export.metric_rollup_retracted
    (tenant_id, window_start);

REVOKE ALL ON TABLE tenant_export.metric_rollup_retracted FROM PUBLIC;
GRANT SELECT, INSERT ON TABLE tenant_export.metric_rollup_retracted TO tenant_export_operator;
ALTER TABLE tenant_export.metric_rollup_retracted ENABLE ROW LEVEL SECURITY;
ALTER TABLE tenant_export.metric_rollup_retracted FORCE ROW LEVEL SECURITY;
CREATE POLICY operator_reads ON tenant_export.metric_rollup_retracted
    AS PERMISSIVE FOR SELECT TO tenant_export_operator
    USING (true);
CREATE POLICY operator_archives ON tenant_export.metric_rollup_retracted
    AS PERMISSIVE FOR INSERT TO tenant_export_operator
    WITH CHECK (true);

-- The registry also records replays (a bounded job for one tenant, and its lake swap), canaries
-- (started and stopped) and reconcile verdicts. None of them is the live job: the CLI's current
-- job stays the last deploy, upgrade or rollback.
ALTER TABLE tenant_export.export_registry DROP CONSTRAINT export_registry_action_valid;
ALTER TABLE tenant_export.export_registry ADD CONSTRAINT export_registry_action_valid
    CHECK (action IN ('deploy', 'savepoint', 'upgrade', 'rollback', 'rollback-auto', 'stop',
                      'replay', 'canary', 'canary-stop', 'reconcile'));
