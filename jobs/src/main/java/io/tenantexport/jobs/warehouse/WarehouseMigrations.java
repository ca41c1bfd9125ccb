package io.tenantexport.jobs.warehouse;

import io.tenantexport.jobs.config.JobConfig;
import org.flywaydb.core.Flyway;
import org.flywaydb.core.api.output.MigrateResult;

/**
 * Applies the warehouse DDL with Flyway. The SQL files live in {@code deploy/warehouse/migrations}
 * (where operators review them) and are packaged into the job jar under {@code db/tenant-export}.
 *
 * <p>Also a command on the job jar, for your own warehouse (password from {@value
 * JobConfig#PASSWORD_ENV}): {@code java -cp tenant-export-jobs-<v>-job.jar
 * io.tenantexport.jobs.warehouse.WarehouseMigrations jdbc:postgresql://host/db user}.
 */
public final class WarehouseMigrations {
  /** Schema that holds the export's tables and Flyway's history. */
  public static final String SCHEMA = "tenant_export";

  private WarehouseMigrations() {}

  public static void main(String[] args) {
    if (args.length != 2 || !args[0].startsWith("jdbc:postgresql:")) {
      System.err.println(
          "usage: WarehouseMigrations <jdbc:postgresql://host:port/db> <user>"
              + " (password from "
              + JobConfig.PASSWORD_ENV
              + ")");
      System.exit(2);
    }
    String password = System.getenv().getOrDefault(JobConfig.PASSWORD_ENV, "");
    int applied = apply(args[0], args[1], password);
    System.out.println("applied " + applied + " migration(s) to schema " + SCHEMA);
  }

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
