package io.tenantexport.jobs.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The {@code canary} and {@code reconcile} commands' argument handling: usage errors (exit status
 * 2) before anything is contacted; and the canary namespace that keeps a canary off live outputs.
 */
class CanaryCommandsTest {
  @TempDir Path tmp;

  @Test
  void canaryStartWithoutTenantsIsAUsageError() throws Exception {
    Path jar = Files.writeString(tmp.resolve("job.jar"), "x");
    CliRun r = CliRun.run("canary", "start", "--jar", jar.toString(), "--rest", "http://h:1");
    assertThat(r.status()).isEqualTo(TenantExportCli.USAGE);
    assertThat(r.err()).contains("missing --tenants");
  }

  @Test
  void canaryStartRefusesAnInvalidTenantNamingIt() throws Exception {
    Path jar = Files.writeString(tmp.resolve("job.jar"), "x");
    CliRun r =
        CliRun.run(
            "canary",
            "start",
            "--jar",
            jar.toString(),
            "--tenants",
            "t01-a,T02/B",
            "--rest",
            "http://h:1");
    assertThat(r.status()).isEqualTo(TenantExportCli.USAGE);
    assertThat(r.err()).contains("--tenants 't01-a,T02/B': tenant \"T02/B\" must match");
  }

  @Test
  void reconcileRefusesAnInstantThatIsNotIso() {
    CliRun r = CliRun.run("reconcile", "--from", "yesterday", "--rest", "http://h:1");
    assertThat(r.status()).isEqualTo(TenantExportCli.USAGE);
    assertThat(r.err()).contains("--from 'yesterday' is not an ISO-8601 instant");
  }

  @Test
  void reconcileRefusesAnEmptyRange() {
    CliRun r =
        CliRun.run(
            "reconcile",
            "--from",
            "2026-11-26T10:00:00Z",
            "--to",
            "2026-11-26T09:00:00Z",
            "--rest",
            "http://h:1");
    assertThat(r.status()).isEqualTo(TenantExportCli.USAGE);
    assertThat(r.err()).contains("must be after --from");
  }

  @Test
  void reconcileHelpSaysHowWindowsAreChosenAndTheExitStatus() {
    CliRun r = CliRun.run("reconcile", "--help");
    assertThat(r.status()).isZero();
    assertThat(r.out()).contains("Usage: tenant-export reconcile").contains("Exit status 0");
  }

  @Test
  void theCanaryNamespaceOverridesEveryLiveOutputAndReadsBackFromItsRow() {
    CanaryRun plan =
        new CanaryRun(
            "20261126-120000",
            List.of("t01-a", "t02-b"),
            "tenant-export-canary-20261126-120000",
            "grp-canary-20261126-120000",
            "tx-canary-20261126-120000",
            "audit.shadow",
            "quarantine.shadow",
            "file:/lake/_shadow/canary-20261126-120000");
    java.util.List<String> live =
        List.of("--config", "/etc/job.yaml", "--lake.path=file:/lake", "--kafka.group_id=grp");
    ExportRegistry.Row row =
        new ExportRegistry.Row(
            7L,
            null,
            "canary",
            "j",
            "jar",
            "/j.jar",
            plan.programArgs(live),
            "canary-x",
            1,
            null,
            "ok",
            null);

    assertThat(plan.programArgs(live)).startsWith(live.toArray(String[]::new));
    assertThat(plan.overrides())
        .contains(
            "--warehouse.schema=tenant_export_shadow",
            "--job.tenants=t01-a,t02-b",
            "--kafka.starting_offsets=earliest");
    assertThat(CanaryRun.of(row)).isEqualTo(plan);
    assertThat(CanaryRun.shadowRoot("s3://bucket/lake/")).isEqualTo("s3://bucket/lake/_shadow");
  }
}
