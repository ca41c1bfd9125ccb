package io.tenantexport.jobs.warehouse;

import org.flywaydb.core.Flyway;
import org.flywaydb.core.api.output.MigrateResult;

/**
 * Applies the warehouse DDL with Flyway. The SQL files live in {@code deploy/warehouse/migrations}
 * (where operators review them) and are packaged into the job jar under {@code db/tenant-export}.
 */
public final class WarehouseMigrations {
  /** Schema that holds the export's tables and Flyway's history. */
  public static final String SCHEMA = "tenant_export";

  private WarehouseMigrations() {}

  /** Brings the warehouse to the newest migration; returns how many were applied now. */
  public static int apply(String jdbcUrl, String user, String password) {
    MigrateResult result =
        Flyway.configure(WarehouseMigrations.class.getClassLoader())
            .dataSource(jdbcUrl, user, password)
            .schemas(SCHEMA)
            .defaultSchema(SCHEMA)
            .locations("classpath:db/tenant-export")
            .load()
            .migrate();
    return result.migrationsExecuted;
  }
}
