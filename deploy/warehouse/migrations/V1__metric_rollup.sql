-- Window rollups exported by tenant-export: one row per tenant x metric x dimension values x window.
-- Applied by Flyway (schema tenant_export); never edit an applied migration, add V2__... instead.

CREATE TABLE metric_rollup (
    tenant_id      text        NOT NULL,
    source_table   text        NOT NULL,
    metric         text        NOT NULL,
    -- Canonical JSON object of the dimension values, keys sorted: part of the key, so kept as text
    -- (byte-exact), with a jsonb copy for queries.
    dimensions     text        NOT NULL,
    dimensions_json jsonb      GENERATED ALWAYS AS (dimensions::jsonb) STORED,
    window_start   timestamptz NOT NULL,
    window_end     timestamptz NOT NULL,
    value          numeric,
    row_count      bigint      NOT NULL,
    -- Changes folded into the tenant's window when it was exported. A row is only replaced by a
    -- different value of the same or a newer export_version (see WarehouseUpsert).
    revision       bigint      NOT NULL,
    export_version integer     NOT NULL,
    exported_at    timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, metric, dimensions, window_start),
    -- The same pattern the job enforces (TenantId.PATTERN): defence in depth at the database.
    CONSTRAINT metric_rollup_tenant_id_valid CHECK (tenant_id ~ '^[a-z0-9][a-z0-9_-]{0,63}$'),
    CONSTRAINT metric_rollup_window_valid CHECK (window_end > window_start)
);

COMMENT ON TABLE metric_rollup IS
    'tenant-export window rollups; written only by the export job (guarded upsert), read by dashboards';

-- Dashboards read one tenant's recent windows.
CREATE INDEX metric_rollup_tenant_window ON metric_rollup (tenant_id, window_start DESC);
