package io.tenantexport.common.policy;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.tenantexport.common.keys.KeyNotFoundException;
import io.tenantexport.common.policy.PolicyParser.ParseResult;
import io.tenantexport.common.spec.ExportSpec;
import java.nio.charset.StandardCharsets;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.Map;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;
import org.junit.jupiter.api.Test;

class RedactorTest {
  private static final ExportSpec SPEC = Specs.testSpec();
  private static final TenantPolicy ACME = policy(Specs.text("policy/t00-acme.yaml"));

  private final TestKeys keys =
      new TestKeys()
          .with("t00-acme", "k2026", "acme-secret-2026")
          .with("t01-globex", "k1", "Jefe")
          .with("t02-initech", "k1", "initech-secret");
  private final Redactor redactor = new Redactor(SPEC, keys);

  private static TenantPolicy policy(String yaml) {
    ParseResult r = PolicyParser.parse(yaml, "test", SPEC);
    assertThat(r).isInstanceOf(ParseResult.Ok.class);
    return ((ParseResult.Ok) r).policy();
  }

  private static TenantPolicy policy(String tenant, String table, String rules) {
    return policy(
        "tenant: "
            + tenant
            + "\nversion: 1\nstatus: active\ntables:\n  "
            + table
            + ": "
            + rules
            + "\n");
  }

  private static String hmacSha256Hex(String secret, String value) throws Exception {
    Mac mac = Mac.getInstance("HmacSHA256");
    mac.init(new SecretKeySpec(secret.getBytes(StandardCharsets.UTF_8), "HmacSHA256"));
    return HexFormat.of().formatHex(mac.doFinal(value.getBytes(StandardCharsets.UTF_8)));
  }

  private static Map<String, String> pageView() {
    Map<String, String> image = new HashMap<>();
    image.put("tenant_id", "t00-acme");
    image.put("id", "7");
    image.put("viewed_at", "2026-11-26T09:15:30.123456Z");
    image.put("page", "/pricing");
    image.put("duration_ms", "1234");
    image.put("user_email", "ann@example.com");
    image.put("ip", "203.0.113.42");
    image.put("not_in_spec", "secret");
    return image;
  }

  @Test
  void appliesEveryRuleAndReturnsEverySpecColumnInSpecOrder() throws Exception {
    Map<String, String> out = redactor.apply(ACME, "page_views", pageView());

    Map<String, String> expected = new LinkedHashMap<>();
    expected.put("tenant_id", "t00-acme");
    expected.put("id", null); // no rule: default deny
    expected.put("viewed_at", "2026-11-26T09:15:30.123456Z"); // event time: always kept
    expected.put("page", "/pricing");
    expected.put("duration_ms", "1234");
    expected.put("user_email", hmacSha256Hex("acme-secret-2026", "ann@example.com"));
    expected.put("ip", "***.42");
    assertThat(out).containsExactlyEntriesOf(expected);
  }

  @Test
  void hashIsHmacSha256InLowerCaseHex() {
    // RFC 4231, test case 2.
    TenantPolicy globex =
        policy("t01-globex", "page_views", "{user_email: {action: hash, key: k1}}");
    Map<String, String> image = new HashMap<>();
    image.put("user_email", "what do ya want for nothing?");

    assertThat(redactor.apply(globex, "page_views", image))
        .containsEntry(
            "user_email", "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
  }

  @Test
  void theSameValueGetsDifferentPseudonymsInDifferentTenants() {
    String rules = "{user_email: {action: hash, key: k1}}";
    Map<String, String> image = Map.of("user_email", "ann@example.com");

    String globex =
        redactor
            .apply(policy("t01-globex", "page_views", rules), "page_views", image)
            .get("user_email");
    String initech =
        redactor
            .apply(policy("t02-initech", "page_views", rules), "page_views", image)
            .get("user_email");

    assertThat(globex).hasSize(64).isNotEqualTo(initech);
  }

  @Test
  void looksUpEachKeyOnce() {
    redactor.apply(ACME, "page_views", pageView());
    redactor.apply(ACME, "page_views", pageView());

    assertThat(keys.lookups).isEqualTo(1);
  }

  @Test
  void nullValuesStayNullWithoutTouchingKeys() {
    Map<String, String> image = new HashMap<>();
    image.put("user_email", null);
    image.put("ip", null);

    Map<String, String> out = redactor.apply(ACME, "page_views", image);

    assertThat(out).containsEntry("user_email", null).containsEntry("ip", null);
    assertThat(keys.lookups).isZero();
    assertThat(redactor.apply(ACME, "page_views", null)).isNull();
  }

  @Test
  void masksByCodePointsAndNeverShowsAShortValueOrItsLength() {
    assertThat(Redactor.mask("203.0.113.42", 3)).isEqualTo("***.42");
    assertThat(Redactor.mask("abcd", 3)).isEqualTo("***bcd");
    assertThat(Redactor.mask("abc", 3)).isEqualTo("***");
    assertThat(Redactor.mask("ab", 3)).isEqualTo("***");
    assertThat(Redactor.mask("", 3)).isEqualTo("***");
    assertThat(Redactor.mask("secret", 0)).isEqualTo("***");
    assertThat(Redactor.mask("", 0)).isEqualTo("***");
    assertThat(Redactor.mask("Zoë 😀x", 2)).isEqualTo("***😀x");
    assertThat(Redactor.mask("😀😀", 2)).isEqualTo("***"); // four chars, two code points
    assertThat(Redactor.mask("a😀😀", 2)).isEqualTo("***😀😀");
    assertThat(Redactor.mask("Åsa", 1)).isEqualTo("***a");
  }

  @Test
  void bucketsDecimalsDownwardsKeepingTheirScale() {
    TenantPolicy ten = policy("t00-acme", "orders", "{amount: {action: bucket, width: \"10\"}}");
    TenantPolicy quarter = policy("t00-acme", "orders", "{amount: {action: bucket, width: 0.25}}");

    assertThat(amount(ten, "12.34")).isEqualTo("10.00");
    assertThat(amount(ten, "99.99")).isEqualTo("90.00");
    assertThat(amount(ten, "100.00")).isEqualTo("100.00");
    assertThat(amount(ten, "0.00")).isEqualTo("0.00");
    assertThat(amount(ten, "-0.01")).isEqualTo("-10.00");
    assertThat(amount(ten, "-10.00")).isEqualTo("-10.00");
    assertThat(amount(ten, "-10.01")).isEqualTo("-20.00");
    assertThat(amount(quarter, "1.30")).isEqualTo("1.25");
    assertThat(amount(quarter, "-0.10")).isEqualTo("-0.25");
    assertThat(amount(quarter, "7")).isEqualTo("7.00");
    assertThat(amount(quarter, "1.2345")).isEqualTo("1.0000");
  }

  @Test
  void bucketsLongsToWholeNumbers() {
    TenantPolicy hundred =
        policy("t00-acme", "page_views", "{duration_ms: {action: bucket, width: \"100.0\"}}");

    assertThat(duration(hundred, "1234")).isEqualTo("1200");
    assertThat(duration(hundred, "99")).isEqualTo("0");
    assertThat(duration(hundred, "-1")).isEqualTo("-100");
  }

  @Test
  void generalizesTimestampsToTheHourOrDayInUtc() {
    TenantPolicy hour =
        policy("t00-acme", "invoices", "{some_ts_column: {action: generalize, to: hour}}");
    TenantPolicy day =
        policy(
            "t00-acme",
            "invoices",
            "{some_ts_column: {action: generalize, to: day}, due_on: {action: generalize, to: day}}");

    assertThat(invoice(hour, "some_ts_column", "2026-11-26T09:15:30.123456Z"))
        .isEqualTo("2026-11-26T09:00:00Z");
    assertThat(invoice(hour, "some_ts_column", "1969-12-31T23:59:59.999Z"))
        .isEqualTo("1969-12-31T23:00:00Z");
    assertThat(invoice(day, "some_ts_column", "2026-11-26T23:59:59.999999999Z"))
        .isEqualTo("2026-11-26T00:00:00Z");
    assertThat(invoice(day, "due_on", "2026-11-26")).isEqualTo("2026-11-26");
  }

  @Test
  void defaultDenyDropsUnlistedColumnsButKeepsStructuralOnes() {
    TenantPolicy statusOnly = policy("t00-acme", "orders", "{status: keep}");
    Map<String, String> image = new HashMap<>();
    image.put("tenant_id", "t00-acme");
    image.put("id", "41");
    image.put("status", "paid");
    image.put("amount", "12.50");
    image.put("updated_at", "2026-11-26T09:15:30Z");
    image.put("customer_name", "Ann Smith");

    Map<String, String> out = redactor.apply(statusOnly, "orders", image);

    assertThat(out.keySet())
        .containsExactly("tenant_id", "id", "status", "amount", "updated_at", "customer_name");
    assertThat(out)
        .containsEntry("tenant_id", "t00-acme")
        .containsEntry("id", "41")
        .containsEntry("status", "paid")
        .containsEntry("amount", null)
        .containsEntry("updated_at", "2026-11-26T09:15:30Z")
        .containsEntry("customer_name", null);
  }

  @Test
  void anIncompleteImageComesOutComplete() {
    Map<String, String> keyOnly = Map.of("tenant_id", "t00-acme", "invoice_id", "9");

    Map<String, String> out = redactor.apply(ACME, "invoices", keyOnly);

    assertThat(out.keySet()).containsExactlyElementsOf(SPEC.table("invoices").columns().keySet());
    assertThat(out).containsEntry("invoice_id", "9").containsEntry("billing_address", null);
  }

  @Test
  void refusesTablesThePolicyDoesNotAllow() {
    TenantPolicy ordersOnly = policy("t00-acme", "orders", "{status: keep}");

    assertThatThrownBy(() -> redactor.apply(ordersOnly, "invoices", Map.of()))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("does not allow table invoices");
    assertThatThrownBy(() -> redactor.apply(ordersOnly, "nope", Map.of()))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("not in the export spec");
  }

  @Test
  void refusesAnImageOfAnotherTenant() {
    Map<String, String> image = pageView();
    image.put("tenant_id", "t01-globex");

    assertThatThrownBy(() -> redactor.apply(ACME, "page_views", image))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("t01-globex")
        .hasMessageContaining("t00-acme");
  }

  @Test
  void errorsNameTheColumnButNeverTheValueOrTheKey() {
    TenantPolicy ten = policy("t00-acme", "orders", "{amount: {action: bucket, width: 10}}");
    TenantPolicy unknownKey =
        policy("t00-acme", "page_views", "{user_email: {action: hash, key: k-missing}}");

    assertThatThrownBy(() -> amount(ten, "12,50 EUR"))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("orders.amount")
        .hasMessageNotContaining("12,50");
    assertThatThrownBy(
            () -> redactor.apply(unknownKey, "page_views", Map.of("user_email", "ann@example.com")))
        .isInstanceOf(KeyNotFoundException.class)
        .hasMessageContaining("k-missing")
        .hasMessageNotContaining("ann@example.com");
  }

  private String amount(TenantPolicy p, String value) {
    return redactor.apply(p, "orders", Map.of("amount", value)).get("amount");
  }

  private String duration(TenantPolicy p, String value) {
    return redactor.apply(p, "page_views", Map.of("duration_ms", value)).get("duration_ms");
  }

  private String invoice(TenantPolicy p, String column, String value) {
    return redactor.apply(p, "invoices", Map.of(column, value)).get(column);
  }
}
