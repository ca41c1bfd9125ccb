package io.tenantexport.jobs.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The CLI without Kafka: lint, argument handling, help, and everything that fails before Kafka. */
class TenantExportCliTest {
  private static final Path SPEC = Path.of("../deploy/export-spec.yaml");
  private static final Path JOB_FILE = Path.of("../deploy/job.yaml");

  private static final String GOOD =
      """
      tenant: t00-acme
      version: 2
      status: active
      tables:
        orders:
          status: keep
          customer_name: drop
      """;

  /** Line 5 names a table the spec does not have. */
  private static final String UNKNOWN_TABLE =
      """
      tenant: t01-globex
      version: 1
      status: active
      tables:
        no_such_table:
          x: keep
      """;

  @TempDir Path tmp;
  private Path good;
  private Path bad;

  @BeforeEach
  void folders() throws Exception {
    good = Files.createDirectories(tmp.resolve("good"));
    Files.writeString(good.resolve("t00-acme.yaml"), GOOD);
    bad = Files.createDirectories(tmp.resolve("bad"));
    Files.writeString(bad.resolve("t00-acme.yaml"), GOOD);
    Files.writeString(bad.resolve("t01-globex.yaml"), UNKNOWN_TABLE);
    // The file says t02-initech, the name says t03-umbrella.
    Files.writeString(bad.resolve("t03-umbrella.yaml"), GOOD.replace("t00-acme", "t02-initech"));
  }

  private static CliRun run(String... args) {
    return CliRun.run(args);
  }

  @Test
  void lintOfAGoodFolderExitsZeroWithASummary() {
    CliRun r = run("policy", "lint", good.toString(), "--spec", SPEC.toString());

    assertThat(r.status()).isZero();
    assertThat(r.outLines())
        .containsExactly(
            good + ": 1 policy file(s) checked against " + SPEC + " (spec version 1): OK");
    assertThat(r.err()).isEmpty();
  }

  @Test
  void lintOfTheShippedPoliciesIsClean() {
    CliRun r = run("policy", "lint", "../deploy/policies", "--spec=" + SPEC);

    assertThat(r.status()).as(r.out()).isZero();
  }

  @Test
  void lintOfABadFolderExitsOneWithAFileLineCauseLinePerProblemAndASummary() {
    CliRun r = run("policy", "lint", bad.toString(), "--spec", SPEC.toString());

    assertThat(r.status()).isEqualTo(TenantExportCli.FAILED);
    List<String> lines = r.outLines();
    List<String> problems = lines.subList(0, lines.size() - 1);
    assertThat(problems)
        .hasSize(2)
        .allMatch(l -> l.matches("t0[13]-[a-z]+\\.yaml:[1-9][0-9]*: .+"), "file:line: cause");
    assertThat(problems.get(0)).startsWith("t01-globex.yaml:5: ").contains("no_such_table");
    assertThat(problems.get(1)).startsWith("t03-umbrella.yaml:1: ").contains("t02-initech");
    assertThat(lines.get(lines.size() - 1))
        .isEqualTo(
            bad + ": 2 problem(s) in 2 file(s), checked against " + SPEC + " (spec version 1)");
  }

  @Test
  void lintTakesTheSpecNextToTheFolderWhenNoneIsGiven() throws Exception {
    Path repo = Files.createDirectories(tmp.resolve("repo"));
    Files.copy(SPEC, repo.resolve("export-spec.yaml"));
    Path policies = Files.createDirectories(repo.resolve("policies"));
    Files.writeString(policies.resolve("t00-acme.yaml"), GOOD);

    CliRun r = run("policy", "lint", policies.toString());

    assertThat(r.status()).isZero();
    assertThat(r.out()).contains("checked against " + repo.resolve("export-spec.yaml"));
  }

  @Test
  void lintWithoutASpecNextToTheFolderNeedsSpec() {
    CliRun r = run("policy", "lint", good.toString());

    assertThat(r.status()).isEqualTo(TenantExportCli.USAGE);
    assertThat(r.err())
        .contains(
            "--spec <export-spec.yaml> is required: there is no "
                + tmp.resolve("export-spec.yaml"));
  }

  @Test
  void lintWithPreviousReportsAVersionThatWentDown() throws Exception {
    Path previous = Files.createDirectories(tmp.resolve("previous"));
    Files.writeString(previous.resolve("t00-acme.yaml"), GOOD.replace("version: 2", "version: 3"));

    CliRun r =
        run(
            "policy",
            "lint",
            good.toString(),
            "--spec",
            SPEC.toString(),
            "--previous",
            previous.toString());

    assertThat(r.status()).isEqualTo(TenantExportCli.FAILED);
    assertThat(r.outLines().get(0))
        .startsWith("t00-acme.yaml:2: version 2 is lower than version 3");
  }

  @Test
  void anInvalidSpecIsAProblemFound() throws Exception {
    Path spec = Files.writeString(tmp.resolve("spec.yaml"), "version: one\n");

    CliRun r = run("policy", "lint", good.toString(), "--spec", spec.toString());

    assertThat(r.status()).isEqualTo(TenantExportCli.FAILED);
    assertThat(r.err()).startsWith("tenant-export policy lint: invalid export spec: " + spec);
  }

  @Test
  void usageErrorsExitTwoNamingTheProblem() {
    assertUsage(run(), "Usage: tenant-export <command>");
    assertUsage(run("polcy", "lint"), "tenant-export: unknown command 'polcy'");
    assertUsage(run("policy"), "tenant-export policy: missing subcommand (lint, publish)");
    assertUsage(run("policy", "check"), "unknown subcommand 'check' (lint, publish)");
    assertUsage(
        run("policy", "lint"),
        "tenant-export policy lint: missing <folder>",
        "Run 'tenant-export policy lint --help' for usage.");
    assertUsage(
        run("policy", "lint", good.toString(), "--spec", SPEC.toString(), "--verbose"),
        "unknown flag --verbose; known: --spec, --previous, --help");
    assertUsage(run("policy", "lint", good.toString(), "-v"), "unknown flag -v");
    assertUsage(
        run("policy", "lint", good.toString(), "--kafka.bootstrap_servers=x"),
        "unknown flag --kafka.bootstrap_servers");
    assertUsage(run("policy", "lint", good.toString(), "--spec"), "--spec needs a value");
    assertUsage(
        run("policy", "lint", good.toString(), "--spec", "a.yaml", "--spec", "b.yaml"),
        "--spec given twice ('a.yaml', 'b.yaml')");
    assertUsage(
        run("policy", "lint", good.toString(), bad.toString()),
        "unexpected argument '" + bad + "' (only one <folder>)");
    assertUsage(
        run("policy", "lint", tmp.resolve("missing").toString(), "--spec", SPEC.toString()),
        "policy folder " + tmp.resolve("missing") + ": no such folder");
    assertUsage(
        run("policy", "lint", good.toString(), "--spec", tmp.resolve("none.yaml").toString()),
        "--spec " + tmp.resolve("none.yaml") + ": no such file");
    assertUsage(
        run("quarantine", "replay", "--config", JOB_FILE.toString(), "--limit", "0"),
        "--limit '0': expected a positive integer");
    assertUsage(
        run("quarantine", "replay", "--config", JOB_FILE.toString(), "--reason", "TYPO"),
        "--reason \"TYPO\": unknown reason code; known: UNDECODABLE_JSON,");
    assertUsage(
        run("quarantine", "replay", "--dry-run=yes"), "--dry-run takes no value, got 'yes'");
    assertUsage(
        run("policy", "publish", good.toString(), "--tenant", "Acme Corp"),
        "--tenant \"Acme Corp\": not a tenant id");
  }

  @Test
  void anInvalidJobConfigurationIsAUsageErrorNamingTheSetting() {
    CliRun unknown =
        run("quarantine", "replay", "--config", JOB_FILE.toString(), "--kafka.bootstrap=x:9092");
    assertUsage(
        unknown,
        "tenant-export quarantine replay: invalid job configuration: unknown setting"
            + " 'kafka.bootstrap' (flag --kafka.bootstrap)");

    CliRun badValue =
        run(
            "policy",
            "publish",
            good.toString(),
            "--config",
            JOB_FILE.toString(),
            "--job.parallelism",
            "zero");
    assertUsage(badValue, "job.parallelism = 'zero' (flag --job.parallelism): must be a positive");
  }

  @Test
  void publishLintsFirstAndRefusesAFolderWithProblems() {
    CliRun r =
        run(
            "policy",
            "publish",
            bad.toString(),
            "--config",
            JOB_FILE.toString(),
            // Nothing listens here: the command must stop before it needs Kafka.
            "--kafka.bootstrap_servers=127.0.0.1:1");

    assertThat(r.status()).isEqualTo(TenantExportCli.FAILED);
    assertThat(r.out()).contains("t01-globex.yaml:5: ").contains("2 problem(s) in 2 file(s)");
    assertThat(r.err())
        .isEqualTo(
            "tenant-export policy publish: refusing to publish "
                + bad
                + ": fix the problems above first"
                + System.lineSeparator());
  }

  @Test
  void helpPrintsUsageToStdoutAndExitsZero() {
    for (String[] args :
        List.of(
            new String[] {"--help"},
            new String[] {"help"},
            new String[] {"policy", "--help"},
            new String[] {"policy", "lint", "--help"},
            new String[] {"policy", "lint", "-h"},
            new String[] {"policy", "publish", "--help"},
            new String[] {"quarantine", "replay", "--help"},
            // --help wins over anything else on the line
            new String[] {"quarantine", "replay", "--bogus", "--help"})) {
      CliRun r = run(args);
      assertThat(r.status()).as(Arrays.toString(args)).isZero();
      assertThat(r.out()).as(Arrays.toString(args)).startsWith("Usage: tenant-export");
      assertThat(r.err()).as(Arrays.toString(args)).isEmpty();
    }
    assertThat(run("--help").out()).contains("policy lint", "policy publish", "quarantine replay");
    assertThat(run("quarantine", "replay", "--help").out())
        .contains("--dry-run", "--reason", "Replaying twice re-injects twice");
  }

  private static void assertUsage(CliRun r, String... expected) {
    assertThat(r.status()).as(r.err()).isEqualTo(TenantExportCli.USAGE);
    assertThat(r.err()).contains(expected);
    assertThat(r.out()).isEmpty();
  }
}
