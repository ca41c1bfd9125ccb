package io.tenantexport.common.policy;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.tenantexport.common.gen.TrafficGenerator;
import io.tenantexport.common.spec.ExportSpec;
import io.tenantexport.common.tenant.TenantId;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class PolicyLintTest {
  private static final ExportSpec SPEC = Specs.testSpec();
  private static final Path BAD = Specs.resource("policy-lint/bad");
  private static final Path PREVIOUS = Specs.resource("policy-lint/previous");
  private static final Path GOOD = Specs.resource("policy-lint/good");
  private static final Path DEPLOYED = Path.of("..", "deploy", "policies");

  /** One or more per fixture file: {@code file:line: } and a fragment of the cause. */
  private static final List<String> EXPECTED =
      List.of(
          "T04-Bad.yaml:1: invalid tenant id \"T04-Bad\": must match",
          "t01-syntax.yaml:6: YAML syntax error",
          "t02-missing.yaml:1: missing top-level key status",
          "t03-unknown-key.yaml:6: unknown top-level key \"owner\"",
          "t05-stem.yaml:1: names tenant t05-other but the file is t05-stem.yaml",
          "t06-names-other.yaml:7: names another tenant t01-syntax",
          "t07-dup-copy.yaml:1: duplicate tenant t07-dup: also in t07-dup.yaml",
          "t07-dup-copy.yaml:1: names tenant t07-dup but the file is t07-dup-copy.yaml",
          "t07-dup.yaml:1: duplicate tenant t07-dup: also in t07-dup-copy.yaml",
          "t08-status.yaml:3: unknown status \"archived\"",
          "t09-version-text.yaml:2: version \"three\" is not an integer",
          "t10-version-zero.yaml:2: version 0 must be an integer >= 1",
          "t11-unknown-table.yaml:5: unknown table \"pageviews\"",
          "t12-unknown-field.yaml:6: unknown field \"usr_email\" in table page_views",
          "t13-unknown-action.yaml:6: page_views.ip: unknown action \"scramble\"",
          "t14-hash-no-key.yaml:6: page_views.user_email: hash needs key",
          "t15-hash-bad-key.yaml:6: page_views.user_email: hash key id \"K 1\" must match",
          "t16-mask-no-keep-last.yaml:6: page_views.ip: mask needs keep_last",
          "t17-mask-negative.yaml:6: page_views.ip: mask keep_last -1 must be >= 0",
          "t18-generalize-string.yaml:6: page_views.page: generalize needs a timestamp or date"
              + " column, page is string",
          "t19-generalize-to.yaml:6: invoices.some_ts_column: generalize to \"week\" must be hour"
              + " or day",
          "t20-bucket-string.yaml:6: page_views.page: bucket needs a long or decimal column, page"
              + " is string",
          "t21-bucket-width.yaml:6: orders.amount: bucket width 0 must be positive",
          "t22-structural.yaml:7: orders.id is a structural column (key)",
          "t23-metric.yaml:6: page_views.duration_ms is aggregated by metric"
              + " page_view_duration_ms: its rule may only be keep or bucket",
          "t24-lower.yaml:2: version 4 is lower than version 5 in the previous policies",
          "t25-same-version.yaml:2: content changed but version stayed 2",
          "t26-tag.yaml:3: tag \"!shout\" is not allowed",
          "t27-duplicate-key.yaml:7: duplicate key \"page\" (first at line 6)",
          "t28-aliases.yaml:1: YAML syntax error",
          "t29-generalize-date-hour.yaml:6: invoices.due_on: generalize to hour needs a timestamp"
              + " column, due_on is a date",
          "t30-bucket-long-fraction.yaml:6: page_views.duration_ms: bucket width 2.5 on long"
              + " column duration_ms must be a whole number",
          "t31-no-version.yaml:1: missing top-level key version");

  @Test
  void reportsEachProblemOfTheBadFolderWithFileAndLine() throws IOException {
    List<String> reported =
        PolicyLint.lint(BAD, SPEC, PREVIOUS).stream().map(PolicyProblem::toString).toList();

    for (String expected : EXPECTED) {
      assertThat(reported).as("expected %s", expected).anyMatch(p -> p.startsWith(expected));
    }
    for (String problem : reported) {
      assertThat(EXPECTED).as("unexpected %s", problem).anyMatch(problem::startsWith);
    }
    try (var files = Files.list(BAD)) {
      List<String> names = files.map(p -> p.getFileName().toString()).toList();
      for (String name : names) {
        assertThat(reported).as("a problem in %s", name).anyMatch(p -> p.startsWith(name + ":"));
      }
    }
  }

  @Test
  void versionChecksNeedThePreviousFolder() {
    assertThat(PolicyLint.lint(BAD, SPEC, null))
        .noneMatch(p -> p.file().startsWith("t24-") || p.file().startsWith("t25-"));
  }

  @Test
  void aGoodFolderPasses() {
    assertThat(PolicyLint.lint(GOOD, SPEC, null)).isEmpty();
    assertThat(PolicyLint.lint(GOOD, SPEC, GOOD)).isEmpty();
    assertThat(PolicyLint.lint(GOOD, SPEC, PREVIOUS)).isEmpty();
  }

  @Test
  void loadReturnsThePoliciesOfAGoodFolder() {
    Map<TenantId, TenantPolicy> policies = PolicyFolder.load(GOOD, SPEC);

    assertThat(policies.keySet().stream().map(TenantId::value))
        .containsExactly("t00-acme", "t01-globex");
    TenantPolicy globex = policies.get(TenantId.of("t01-globex", "test"));
    assertThat(globex.status()).isEqualTo(TenantStatus.PAUSED);
    assertThat(globex.source()).isEqualTo(GOOD.resolve("t01-globex.yaml").toString());
  }

  @Test
  void loadListsEveryProblemOnePerLine() {
    assertThatThrownBy(() -> PolicyFolder.load(BAD, SPEC))
        .isInstanceOf(PolicyException.class)
        .satisfies(
            e -> {
              PolicyException pe = (PolicyException) e;
              assertThat(pe.problems()).hasSize(PolicyLint.lint(BAD, SPEC, null).size());
              assertThat(pe.getMessage().lines().skip(1).toList())
                  .containsExactlyElementsOf(
                      pe.problems().stream().map(PolicyProblem::toString).toList());
              assertThat(pe.getMessage())
                  .startsWith("policy folder " + BAD)
                  .contains("t08-status.yaml:3: unknown status \"archived\"");
            });
  }

  @Test
  void documentsAreTheYamlFilesByStem(@TempDir Path dir) throws IOException {
    Files.writeString(dir.resolve("t01-globex.yml"), "b");
    Files.writeString(dir.resolve("t00-acme.yaml"), "a");
    Files.writeString(dir.resolve("README.md"), "not a policy");
    Files.createDirectory(dir.resolve("sub.yaml"));

    assertThat(PolicyFolder.documents(dir))
        .containsExactly(Map.entry("t00-acme", "a"), Map.entry("t01-globex", "b"));

    Files.writeString(dir.resolve("t00-acme.yml"), "c");
    assertThatThrownBy(() -> PolicyFolder.documents(dir))
        .isInstanceOf(IOException.class)
        .hasMessageContaining(dir.toString())
        .hasMessageContaining("t00-acme");
    assertThatThrownBy(() -> PolicyFolder.documents(dir.resolve("missing")))
        .isInstanceOf(IOException.class)
        .hasMessageContaining(dir.resolve("missing").toString());
  }

  @Test
  void unreadableFoldersAndFilesAreProblems(@TempDir Path dir) throws IOException {
    assertThat(PolicyLint.lint(dir, SPEC, null))
        .singleElement()
        .asString()
        .contains("no policy files");
    assertThat(PolicyLint.lint(dir.resolve("missing"), SPEC, null))
        .singleElement()
        .asString()
        .startsWith(dir.resolve("missing") + ":0: cannot list the policy folder");

    Files.write(dir.resolve("t00-acme.yaml"), new byte[] {'a', (byte) 0xff, 'b'});
    assertThat(PolicyLint.lint(dir, SPEC, null))
        .extracting(PolicyProblem::toString)
        .containsExactly("t00-acme.yaml:0: not UTF-8 text");
  }

  @Test
  void neverThrowsOnGarbage(@TempDir Path dir) throws IOException {
    Random random = new Random(20261126);
    String alphabet = "tenant:version status tables{}[]&*!|>-?,'\"#%@`\n\t :abc0123456789é😀\u0000";
    for (int i = 0; i < 200; i++) {
      byte[] bytes = new byte[random.nextInt(300)];
      random.nextBytes(bytes);
      Files.write(dir.resolve(String.format("t%03d-bytes.yaml", i)), bytes);
      StringBuilder sb = new StringBuilder();
      for (int j = random.nextInt(300); j > 0; j--) {
        sb.appendCodePoint(
            alphabet.codePointAt(
                alphabet.offsetByCodePoints(
                    0, random.nextInt(alphabet.codePointCount(0, alphabet.length())))));
      }
      Files.writeString(dir.resolve(String.format("t%03d-chars.yaml", i)), sb);
    }

    List<PolicyProblem> problems = PolicyLint.lint(dir, SPEC, dir);

    assertThat(problems).isNotEmpty();
    assertThat(problems).allSatisfy(p -> assertThat(p.line()).isNotNegative());
  }

  @Test
  void theDeployedPoliciesCoverTheGeneratedTenantsAndPassWithTheTestSpec() throws IOException {
    List<String> generated =
        new TrafficGenerator(TrafficGenerator.Config.defaults(Instant.EPOCH)).tenantIds();

    assertThat(PolicyFolder.documents(DEPLOYED).keySet()).containsExactlyElementsOf(generated);
    assertThat(PolicyLint.lint(DEPLOYED, SPEC, null)).isEmpty();
  }

  /** Red until deploy/export-spec.yaml declares user_email, ip, customer_name, billing_address. */
  @Test
  void theDeployedPoliciesPassWithTheDeployedSpec() {
    List<PolicyProblem> problems =
        PolicyLint.lint(
            DEPLOYED, ExportSpec.load(Path.of("..", "deploy", "export-spec.yaml")), null);

    assertThat(problems)
        .as(problems.stream().map(PolicyProblem::toString).collect(Collectors.joining("\n")))
        .isEmpty();
  }

  @Test
  void theSchemaDescribesEveryAction() throws IOException {
    JsonNode schema = new ObjectMapper().readTree(DEPLOYED.resolve("policy.schema.json").toFile());

    assertThat(schema.path("$schema").asText())
        .isEqualTo("https://json-schema.org/draft/2020-12/schema");
    assertThat(schema.path("required").toString())
        .isEqualTo("[\"tenant\",\"version\",\"status\",\"tables\"]");
    String actions = schema.path("$defs").path("action").toString();
    for (String action : List.of("keep", "drop", "mask", "hash", "generalize", "bucket")) {
      assertThat(actions).contains("\"" + action + "\"");
    }
  }

  @Test
  void problemsReadLikeCompilerMessages() {
    assertThat(new PolicyProblem("t00-acme.yaml", 4, "unknown status \"x\"").toString())
        .isEqualTo("t00-acme.yaml:4: unknown status \"x\"");
  }
}
