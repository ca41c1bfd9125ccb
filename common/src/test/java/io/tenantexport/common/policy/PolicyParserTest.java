package io.tenantexport.common.policy;

import static org.assertj.core.api.Assertions.assertThat;

import io.tenantexport.common.policy.PolicyParser.ParseResult;
import io.tenantexport.common.spec.ExportSpec;
import io.tenantexport.common.tenant.TenantId;
import java.math.BigDecimal;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class PolicyParserTest {
  private static final ExportSpec SPEC = Specs.testSpec();

  private static TenantPolicy ok(String yaml) {
    ParseResult r = PolicyParser.parse(yaml, "test.yaml", SPEC);
    assertThat(r).isInstanceOf(ParseResult.Ok.class);
    return ((ParseResult.Ok) r).policy();
  }

  private static List<String> problems(String yaml) {
    ParseResult r = PolicyParser.parse(yaml, "doc", SPEC);
    assertThat(r).isInstanceOf(ParseResult.Invalid.class);
    List<PolicyProblem> problems = ((ParseResult.Invalid) r).problems();
    assertThat(problems).isNotEmpty();
    return problems.stream().map(PolicyProblem::toString).toList();
  }

  @Test
  void readsTheDocumentedExample() {
    TenantPolicy p = ok(Specs.text("policy/t00-acme.yaml"));

    assertThat(p.tenant()).isEqualTo(TenantId.of("t00-acme", "test"));
    assertThat(p.version()).isEqualTo(3);
    assertThat(p.status()).isEqualTo(TenantStatus.ACTIVE);
    assertThat(p.source()).isEqualTo("test.yaml");
    assertThat(p.tables()).containsOnlyKeys("page_views", "orders", "invoices");
    assertThat(p.table("page_views").fields())
        .containsExactly(
            java.util.Map.entry("page", FieldAction.KEEP),
            java.util.Map.entry("duration_ms", FieldAction.KEEP),
            java.util.Map.entry("user_email", new FieldAction.Hash("k2026")),
            java.util.Map.entry("ip", new FieldAction.Mask(3)));
    assertThat(p.table("orders").action("amount"))
        .isEqualTo(new FieldAction.Bucket(new BigDecimal("10")));
    assertThat(p.table("orders").action("customer_name")).isEqualTo(FieldAction.DROP);
    assertThat(p.table("invoices").action("some_ts_column"))
        .isEqualTo(new FieldAction.Generalize(ChronoUnit.HOURS));
    assertThat(p.allowsTable("orders")).isTrue();
  }

  @Test
  void tenantsWithTheSameRulesShareOneRuleMapButOrderAndContentKeepThemApart() {
    String template = Specs.text("policy/t00-acme.yaml");
    TenantPolicy acme = ok(template);
    TenantPolicy other = ok(template.replace("tenant: t00-acme", "tenant: t99-other"));
    // Shared, not copied: a fleet of alike policies costs one map (PolicyBook holds them all).
    assertThat(other.tables()).isSameAs(acme.tables());
    assertThat(other.tenant().value()).isEqualTo("t99-other");

    TenantPolicy changed = ok(template.replace("ip: {action: mask, keep_last: 3}", "ip: drop"));
    assertThat(changed.tables()).isNotSameAs(acme.tables());
    assertThat(changed.table("page_views").action("ip")).isEqualTo(FieldAction.DROP);

    Map<String, TablePolicy> reversed = new LinkedHashMap<>();
    List<String> names = new ArrayList<>(acme.tables().keySet());
    Collections.reverse(names);
    names.forEach(t -> reversed.put(t, acme.table(t)));
    TenantPolicy reordered =
        new TenantPolicy(acme.tenant(), 4, acme.status(), reversed, "reordered");
    assertThat(reordered.tables()).isNotSameAs(acme.tables());
    assertThat(List.copyOf(reordered.tables().keySet()))
        .containsExactly("invoices", "orders", "page_views");
  }

  @Test
  void unlistedTablesAreNotAllowedAndUnlistedColumnsAreDropped() {
    TenantPolicy p =
        ok(
            """
            tenant: t01-globex
            version: 1
            status: paused
            tables:
              orders: {status: keep}
            """);

    assertThat(p.status()).isEqualTo(TenantStatus.PAUSED);
    assertThat(p.allowsTable("orders")).isTrue();
    assertThat(p.allowsTable("page_views")).isFalse();
    assertThat(p.table("page_views")).isNull();
    assertThat(p.table("orders").action("customer_name")).isEqualTo(FieldAction.DROP);
  }

  @Test
  void acceptsBareWordsAndMapFormsAlike() {
    TenantPolicy p =
        ok(
            """
            tenant: t02-initech
            version: 12
            status: offboarded
            tables:
              orders:
                status: {action: keep}
                customer_name: {action: drop}
                amount: {action: bucket, width: 0.25}
              invoices:
                due_on: {action: generalize, to: day}
                some_ts_column: {action: generalize, to: day}
              page_views: {}
            """);

    assertThat(p.table("orders").fields())
        .containsEntry("status", FieldAction.KEEP)
        .containsEntry("customer_name", FieldAction.DROP)
        .containsEntry("amount", new FieldAction.Bucket(new BigDecimal("0.25")));
    assertThat(p.table("invoices").action("due_on"))
        .isEqualTo(new FieldAction.Generalize(ChronoUnit.DAYS));
    assertThat(p.table("page_views").fields()).isEmpty();
    assertThat(p.status()).isEqualTo(TenantStatus.OFFBOARDED);
  }

  @Test
  void reportsEveryProblemOfADocumentWithItsLine() {
    List<String> problems =
        problems(
            """
            tenant: t03-umbrella
            version: 1
            status: active
            tables:
              orders:
                id: {action: hash, key: k1}
                amount: {action: mask, keep_last: 2}
                customer_name: {action: bucket, width: 5}
              nope: {}
            """);

    assertThat(problems)
        .containsExactly(
            "doc:6: orders.id is a structural column (key) and is always kept: its rule may only"
                + " be keep, got hash",
            "doc:7: orders.amount is aggregated by metric order_amount: its rule may only be keep"
                + " or bucket (leave it out to drop it), got mask",
            "doc:8: orders.customer_name: bucket needs a long or decimal column, customer_name is"
                + " string",
            "doc:9: unknown table \"nope\" (the export spec has page_views, orders, invoices)");
  }

  @Test
  void theTenantAndEventTimeColumnsMayOnlyBeKept() {
    assertThat(
            problems(
                """
                tenant: t04-hooli
                version: 1
                status: active
                tables:
                  page_views:
                    tenant_id: {action: mask, keep_last: 2}
                    viewed_at: {action: generalize, to: hour}
                """))
        .containsExactly(
            "doc:6: page_views.tenant_id is a structural column (tenant column) and is always"
                + " kept: its rule may only be keep, got mask",
            "doc:7: page_views.viewed_at is a structural column (event_time) and is always kept:"
                + " its rule may only be keep, got generalize");
  }

  @Test
  void rejectsActionWordsWithoutTheirParametersAndUnknownParameters() {
    assertThat(
            problems(
                """
                tenant: t04-hooli
                version: 1
                status: active
                tables:
                  page_views:
                    ip: mask
                    user_email: {action: hash, key: k1, salt: x}
                    page:
                """))
        .containsExactly(
            "doc:6: page_views.ip: action mask needs parameters: {action: mask, keep_last: 3}",
            "doc:7: page_views.user_email: unknown key \"salt\" for action hash (allowed: action,"
                + " key)",
            "doc:8: page_views.page: no action (keep, drop, mask, hash, generalize or bucket)");
  }

  @Test
  void aQuotedVersionIsNotAnInteger() {
    assertThat(problems("tenant: t05-stark\nversion: \"3\"\nstatus: active\ntables: {}\n"))
        .containsExactly(
            "doc:2: version \"3\" is not an integer (an integer >= 1 that only goes up)");
  }

  @Test
  void emptyAndNonMappingDocumentsAreProblems() {
    assertThat(problems("")).singleElement().asString().contains("doc:1: empty document");
    assertThat(problems("# only a comment\n")).singleElement().asString().contains("empty");
    assertThat(problems("- a\n- b\n"))
        .containsExactly(
            "doc:1: a policy is a mapping with tenant, version, status, tables, got a list");
    assertThat(problems("tenant: t06-wayne\n---\ntenant: t07-wonka\n"))
        .singleElement()
        .asString()
        .startsWith("doc:2: YAML syntax error");
  }

  @Test
  void tagsAreRefusedAndNeverConstructed() {
    assertThat(
            problems(
                "tenant: !!javax.script.ScriptEngineManager [x]\nversion: 1\nstatus: active\n"
                    + "tables: {}\n"))
        .containsExactly(
            "doc:1: YAML syntax error: Global tag is not allowed:"
                + " tag:yaml.org,2002:javax.script.ScriptEngineManager");
    assertThat(problems("tenant: t00-acme\nversion: 1\nstatus: !loud active\ntables: {}\n"))
        .containsExactly(
            "doc:3: tag \"!loud\" is not allowed: a policy uses plain YAML values only");
  }

  @Test
  void manyAliasesAreRefused() {
    StringBuilder yaml = new StringBuilder("a: &a [x]\nb: [");
    for (int i = 0; i <= PolicyParser.MAX_ALIASES; i++) {
      yaml.append("*a, ");
    }
    yaml.append("]\n");
    assertThat(problems(yaml.toString()))
        .singleElement()
        .asString()
        .contains("YAML syntax error")
        .contains("aliases");
  }

  @Test
  void aRecursiveDocumentEnds() {
    assertThat(problems("tenant: t08-tyrell\nversion: 1\nstatus: active\ntables: &t {x: *t}\n"))
        .containsExactly(
            "doc:4: unknown table \"x\" (the export spec has page_views, orders, invoices)");
  }

  @Test
  void nullTextIsAProblemNotAnException() {
    assertThat(PolicyParser.parse(null, "doc", SPEC)).isInstanceOf(ParseResult.Invalid.class);
  }
}
