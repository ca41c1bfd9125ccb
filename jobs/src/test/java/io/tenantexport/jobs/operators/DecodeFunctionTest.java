package io.tenantexport.jobs.operators;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.tenantexport.common.cdc.RawRecord;
import io.tenantexport.common.gen.GeneratedRecord;
import io.tenantexport.common.gen.TrafficGenerator;
import io.tenantexport.common.gen.Truth;
import io.tenantexport.common.keys.KeyProvider;
import io.tenantexport.common.keys.KeyProviders;
import io.tenantexport.common.keys.LocalKeystore;
import io.tenantexport.common.keys.QuarantineCipher;
import io.tenantexport.common.spec.ExportSpec;
import io.tenantexport.common.tenant.TenantId;
import io.tenantexport.schemas.AuditEvent;
import io.tenantexport.schemas.AuditType;
import io.tenantexport.schemas.ChangeEvent;
import io.tenantexport.schemas.Disposition;
import io.tenantexport.schemas.PolicyDocument;
import io.tenantexport.schemas.QuarantineRecord;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.function.Predicate;
import java.util.stream.Stream;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;
import org.apache.flink.runtime.checkpoint.OperatorSubtaskState;
import org.apache.flink.streaming.api.operators.co.CoBroadcastWithNonKeyedOperator;
import org.apache.flink.streaming.runtime.streamrecord.StreamRecord;
import org.apache.flink.streaming.util.BroadcastOperatorTestHarness;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Drives {@link DecodeFunction} with realistic Debezium records from {@link TrafficGenerator},
 * chosen by their ground truth, and checks every output exactly: redaction, sealing, quarantine,
 * markers and the handling of policy updates from the broadcast input.
 */
class DecodeFunctionTest {
  private static final ExportSpec SPEC = ExportSpec.load(Path.of("../deploy/export-spec.yaml"));
  private static final String JOB_VERSION = "test-job";
  private static final String FOLDER = "deploy/policies";
  private static final String QUARANTINE_KEY_ID = "q1";
  private static final String POLICY_ORIGIN = "tenant-policies/0@";

  // The generator's first four tenants; each gets one role in the policy folder.
  private static final String ACME = "t00-acme"; // active
  private static final String GLOBEX = "t01-globex"; // no policy
  private static final String INITECH = "t02-initech"; // paused
  private static final String UMBRELLA = "t03-umbrella"; // offboarded

  private static final byte[] ACME_K1 = material(1);
  private static final byte[] ACME_K2 = material(101);
  private static final byte[] QUARANTINE_KEY = material(201);

  /** Canary prefix of every personal-data value the generator writes. */
  private static final String PII_MARKER = "Canary7x";

  private static final List<String> PII_COLUMNS =
      List.of("user_email", "ip", "customer_name", "billing_address");

  private static List<GeneratedRecord> traffic;

  @TempDir Path dir;
  private Map<String, String> keyOptions;
  private KeyProvider keys;
  private BroadcastOperatorTestHarness<RawRecord, PolicyDocument, ChangeEvent> harness;
  private long nextOffset = 1_000;
  private long nextPolicyOffset = 0;

  @BeforeAll
  static void generate() {
    traffic = new TrafficGenerator(config().build()).take(4_000);
  }

  private static TrafficGenerator.Config.Builder config() {
    return TrafficGenerator.Config.builder(Instant.parse("2026-11-26T10:00:00Z"))
        .tenants(4)
        .quietTenants(0)
        .malformedRate(0)
        .duplicateRate(0)
        .replayRate(0)
        .lateRate(0)
        .piiMarker(PII_MARKER);
  }

  @BeforeEach
  void setUp() throws Exception {
    keyOptions = writeKeystore("keys.p12", true);
    keys = KeyProviders.open(keyOptions);
    harness = newHarness(folder(), keyOptions, 1, 0);
    harness.open();
  }

  @AfterEach
  void tearDown() throws Exception {
    harness.close();
    keys.close();
  }

  // ---- fixtures ------------------------------------------------------------------------------

  private static byte[] material(int seed) {
    byte[] b = new byte[32];
    for (int i = 0; i < b.length; i++) {
      b[i] = (byte) (seed + i * 7);
    }
    return b;
  }

  /** A keystore with acme's k1 (and k2 when asked) and the quarantine key; its options. */
  private Map<String, String> writeKeystore(String name, boolean withK2) throws Exception {
    TenantId acme = TenantId.of(ACME, "test");
    LocalKeystore.Writer w =
        LocalKeystore.create(dir.resolve(name), "s3cret-pw".toCharArray())
            .tenantKey(acme, "k1", ACME_K1)
            .quarantineKey(QUARANTINE_KEY_ID, QUARANTINE_KEY);
    if (withK2) {
      w.tenantKey(acme, "k2", ACME_K2);
    }
    Path keystore = w.write();
    Path password = Files.writeString(dir.resolve(name + ".password"), "s3cret-pw\n");
    return Map.of(
        KeyProviders.PROVIDER,
        KeyProviders.LOCAL,
        KeyProviders.KEYSTORE,
        keystore.toString(),
        KeyProviders.PASSWORD_FILE,
        password.toString());
  }

  /**
   * Acme's policy; invoices are not listed. page_views declares no key, so its id is not a
   * structural column and needs a rule to leave.
   */
  private static String acmePolicy(long version, String emailKey, String ipRule) {
    return """
        tenant: t00-acme
        version: %d
        status: active
        tables:
          page_views:
            id: keep
            page: keep
            duration_ms: keep
            user_email: {action: hash, key: %s}
            ip: %s
          orders:
            status: keep
            amount: keep
            customer_name: drop
        """
        .formatted(version, emailKey, ipRule);
  }

  private static final String ACME_V1 = acmePolicy(1, "k1", "{action: mask, keep_last: 3}");
  private static final String ACME_V2 = acmePolicy(2, "k2", "drop");

  private static String statusOnly(String tenant, long version, String status) {
    return "tenant: %s\nversion: %d\nstatus: %s\ntables: {}\n".formatted(tenant, version, status);
  }

  private static Map<String, String> folder() {
    return Map.of(
        ACME,
        ACME_V1,
        INITECH,
        statusOnly(INITECH, 1, "paused"),
        UMBRELLA,
        statusOnly(UMBRELLA, 4, "offboarded"));
  }

  private static BroadcastOperatorTestHarness<RawRecord, PolicyDocument, ChangeEvent> newHarness(
      Map<String, String> folder, Map<String, String> keyOptions, int parallelism, int subtask)
      throws Exception {
    return new BroadcastOperatorTestHarness<>(
        new CoBroadcastWithNonKeyedOperator<>(
            new DecodeFunction(
                SPEC,
                JOB_VERSION,
                folder,
                FOLDER,
                keyOptions,
                QUARANTINE_KEY_ID,
                QUARANTINE_KEY_ID),
            List.of(Policies.STATE)),
        128,
        parallelism,
        subtask);
  }

  private PolicyDocument doc(String publishedFor, String text) {
    return PolicyDocument.newBuilder()
        .setTenantId(publishedFor)
        .setText(text)
        .setOrigin(POLICY_ORIGIN + nextPolicyOffset++)
        .build();
  }

  private static GeneratedRecord find(Predicate<GeneratedRecord> p) {
    return traffic.stream().filter(p).findFirst().orElseThrow();
  }

  private static Predicate<GeneratedRecord> valid(String tenant, String table, String op) {
    return g ->
        g.truth() instanceof Truth.Valid v
            && v.tenantId().equals(tenant)
            && v.table().equals(table)
            && v.op().equals(op);
  }

  private static Truth.Valid truth(GeneratedRecord g) {
    return (Truth.Valid) g.truth();
  }

  /** The record neither its key nor its value names its tenant (default replica identity). */
  private static boolean namesNoTenant(GeneratedRecord g) {
    String tenant = truth(g).tenantId();
    return !g.keyText().contains(tenant) && !g.valueText().contains(tenant);
  }

  /** Feeds one record at the next offset of partition 2; returns what was fed. */
  private RawRecord feed(GeneratedRecord g) throws Exception {
    return feed(g.topic(), g.key(), g.value(), g.timestamp());
  }

  private RawRecord feed(String topic, byte[] key, byte[] value, long timestamp) throws Exception {
    RawRecord raw = new RawRecord(topic, 2, nextOffset++, timestamp, key, value);
    harness.processElement(raw, timestamp);
    return raw;
  }

  private void publish(String publishedFor, String text) throws Exception {
    harness.processBroadcastElement(doc(publishedFor, text), 0);
  }

  private List<ChangeEvent> out() {
    return harness.extractOutputValues();
  }

  private List<QuarantineRecord> quarantined() {
    var q = harness.getSideOutput(Tags.QUARANTINE);
    return q == null ? List.of() : q.stream().map(StreamRecord::getValue).toList();
  }

  private List<AuditEvent> audited() {
    var a = harness.getSideOutput(Tags.AUDIT);
    return a == null ? List.of() : a.stream().map(StreamRecord::getValue).toList();
  }

  private static String hmac(byte[] key, String value) throws Exception {
    Mac mac = Mac.getInstance("HmacSHA256");
    mac.init(new SecretKeySpec(key, "HmacSHA256"));
    return HexFormat.of().formatHex(mac.doFinal(value.getBytes(StandardCharsets.UTF_8)));
  }

  private static byte[] bytes(ByteBuffer b) {
    if (b == null) {
      return null;
    }
    ByteBuffer d = b.duplicate();
    byte[] out = new byte[d.remaining()];
    d.get(out);
    return out;
  }

  private byte[] open(ByteBuffer sealed, RawRecord raw, String part) {
    return QuarantineCipher.open(bytes(sealed), Quarantines.sealedAs(raw.origin(), part), keys);
  }

  private static Map<String, String> copy(Map<String, String> image) {
    return new LinkedHashMap<>(image);
  }

  /** Values of the truth's images that are personal data. */
  private static List<String> personalData(Truth.Valid v) {
    return Stream.of(v.before(), v.after())
        .filter(Objects::nonNull)
        .flatMap(m -> PII_COLUMNS.stream().map(m::get))
        .filter(Objects::nonNull)
        .toList();
  }

  /**
   * Values of the truth's images other than the tenant id, long enough that finding one in a
   * message cannot be an accident (a one-digit id is a substring of any offset).
   */
  private static List<String> distinctiveValues(Truth.Valid v) {
    return Stream.of(v.before(), v.after())
        .filter(Objects::nonNull)
        .flatMap(m -> m.entrySet().stream())
        .filter(e -> !e.getKey().equals(SPEC.tenantColumn()))
        .map(Map.Entry::getValue)
        .filter(s -> s != null && s.length() >= 4)
        .toList();
  }

  private void assertSealed(QuarantineRecord q, RawRecord raw) {
    if (raw.key() == null) {
      assertThat(q.getKey()).isNull();
    } else {
      assertThat(bytes(q.getKey())).isNotEqualTo(raw.key());
    }
    assertThat(bytes(q.getValue())).isNotEqualTo(raw.value());
    assertThat(QuarantineCipher.keyIdOf(bytes(q.getValue()))).isEqualTo(QUARANTINE_KEY_ID);
    assertThat(open(q.getKey(), raw, "key")).isEqualTo(raw.key());
    assertThat(open(q.getValue(), raw, "value")).isEqualTo(raw.value());
  }

  private static void assertMarkerOf(ChangeEvent marker, QuarantineRecord q, RawRecord raw) {
    assertThat(marker.getDisposition()).isEqualTo(Disposition.QUARANTINED);
    assertThat(marker.getTenantId()).isEqualTo(q.getTenantId());
    assertThat(marker.getQuarantineReason()).isEqualTo(q.getReasonCode());
    assertThat(marker.getEventId()).isEqualTo(q.getQuarantineId());
    assertThat(marker.getEventTime()).isEqualTo(raw.timestamp());
    assertThat(marker.getBefore()).isNull();
    assertThat(marker.getAfter()).isNull();
    assertThat(marker.getRawValue()).isNull();
  }

  // ---- an active tenant ----------------------------------------------------------------------

  @Test
  void anActiveTenantsPageViewLeavesRedactedByItsPolicyAndStampedWithItsVersion() throws Exception {
    GeneratedRecord g = find(valid(ACME, "page_views", "c"));
    Map<String, String> truth = truth(g).after();
    RawRecord raw = feed(g);

    Map<String, String> expected = copy(truth);
    expected.put("user_email", hmac(ACME_K1, truth.get("user_email")));
    String ip = truth.get("ip");
    expected.put("ip", "***" + ip.substring(ip.length() - 3));
    assertThat(out())
        .singleElement()
        .satisfies(
            e -> {
              assertThat(e.getDisposition()).isEqualTo(Disposition.APPLY);
              assertThat(e.getTenantId()).isEqualTo(ACME);
              assertThat(e.getSourceTable()).isEqualTo("page_views");
              assertThat(e.getOp()).isEqualTo("c");
              assertThat(e.getPolicyVersion()).isEqualTo(1L);
              assertThat(e.getBefore()).isNull();
              assertThat(e.getAfter()).isEqualTo(expected);
              // Every spec column, none other (an Avro map keeps no order across a copy).
              assertThat(e.getAfter().keySet())
                  .containsExactlyInAnyOrderElementsOf(SPEC.table("page_views").columns().keySet());
              assertThat(e.getOriginTopic()).isEqualTo(raw.topic());
              assertThat(e.getOriginPartition()).isEqualTo(2);
              assertThat(e.getOriginOffset()).isEqualTo(raw.offset());
              // Append-only changes are never quarantined downstream: no raw bytes kept.
              assertThat(e.getRawKey()).isNull();
              assertThat(e.getRawValue()).isNull();
            });
    assertThat(quarantined()).isEmpty();
    assertThat(audited()).isEmpty();
  }

  @Test
  void anActiveTenantsOrderLeavesWithDroppedColumnsNullAndItsRawBytesSealed() throws Exception {
    GeneratedRecord g = find(valid(ACME, "orders", "c"));
    Map<String, String> truth = truth(g).after();
    assertThat(truth.get("customer_name")).isNotNull();
    RawRecord raw = feed(g);

    Map<String, String> expected = copy(truth);
    expected.put("customer_name", null);
    ChangeEvent e = out().get(0);
    assertThat(out()).hasSize(1);
    assertThat(e.getAfter()).isEqualTo(expected).containsEntry("customer_name", null);
    assertThat(e.getAfter())
        .containsEntry("tenant_id", ACME)
        .containsEntry("id", truth.get("id"))
        .containsEntry("updated_at", truth.get("updated_at"))
        .containsEntry("status", truth.get("status"))
        .containsEntry("amount", truth.get("amount"));
    assertThat(e.getPolicyVersion()).isEqualTo(1L);
    assertThat(e.getRowKey()).isNotNull();

    assertThat(bytes(e.getRawKey())).isNotEqualTo(raw.key());
    assertThat(bytes(e.getRawValue())).isNotEqualTo(raw.value());
    assertThat(new String(bytes(e.getRawValue()), StandardCharsets.ISO_8859_1))
        .doesNotContain(truth.get("customer_name"));
    assertThat(open(e.getRawKey(), raw, "key")).isEqualTo(raw.key());
    assertThat(open(e.getRawValue(), raw, "value")).isEqualTo(raw.value());
    // Bound to its part: the value does not open as the key.
    assertThatThrownBy(() -> open(e.getRawValue(), raw, "key"))
        .isInstanceOf(IllegalArgumentException.class);
    assertThat(quarantined()).isEmpty();
  }

  @Test
  void anUpdateHasBothImagesRedacted() throws Exception {
    GeneratedRecord g =
        find(valid(ACME, "orders", "u").and(r -> r.valueText().contains("\"before\":{")));
    Truth.Valid t = truth(g);
    feed(g);

    Map<String, String> before = copy(t.before());
    before.put("customer_name", null);
    Map<String, String> after = copy(t.after());
    after.put("customer_name", null);
    assertThat(out()).singleElement().extracting(ChangeEvent::getBefore).isEqualTo(before);
    assertThat(out().get(0).getAfter()).isEqualTo(after);
  }

  // ---- quarantine ----------------------------------------------------------------------------

  @Test
  void aTenantWithoutAPolicyIsQuarantinedAsNoPolicyAndCountedForItsReceipt() throws Exception {
    GeneratedRecord g = find(valid(GLOBEX, "orders", "c"));
    RawRecord raw = feed(g);

    QuarantineRecord q = quarantined().get(0);
    assertThat(quarantined()).hasSize(1);
    assertThat(q.getReasonCode()).isEqualTo("NO_POLICY");
    assertThat(q.getTenantId()).isEqualTo(GLOBEX);
    assertThat(q.getReason()).contains(GLOBEX, raw.origin());
    for (String value : distinctiveValues(truth(g))) {
      assertThat(q.getReason()).doesNotContain(value);
    }
    assertThat(q.getOriginTopic()).isEqualTo(raw.topic());
    assertThat(q.getOriginPartition()).isEqualTo(2);
    assertThat(q.getOriginOffset()).isEqualTo(raw.offset());
    assertThat(q.getOriginTimestamp()).isEqualTo(Instant.ofEpochMilli(raw.timestamp()));
    assertThat(q.getExportVersion()).isEqualTo(SPEC.version());
    assertThat(q.getJobVersion()).isEqualTo(JOB_VERSION);
    assertSealed(q, raw);

    assertThat(out()).hasSize(1);
    assertMarkerOf(out().get(0), q, raw);
    assertThat(out().get(0).getSourceTable()).isEqualTo("orders");
  }

  @Test
  void aTableThePolicyDoesNotListIsQuarantinedAsTableNotAllowed() throws Exception {
    GeneratedRecord g = find(valid(ACME, "invoices", "c"));
    RawRecord raw = feed(g);

    QuarantineRecord q = quarantined().get(0);
    assertThat(quarantined()).hasSize(1);
    assertThat(q.getReasonCode()).isEqualTo("TABLE_NOT_ALLOWED");
    assertThat(q.getTenantId()).isEqualTo(ACME);
    assertThat(q.getReason()).contains("invoices", ACME, "version 1", raw.origin());
    for (String value : distinctiveValues(truth(g))) {
      assertThat(q.getReason()).doesNotContain(value);
    }
    assertSealed(q, raw);
    assertThat(out()).hasSize(1);
    assertMarkerOf(out().get(0), q, raw);
    assertThat(out().get(0).getSourceTable()).isEqualTo("invoices");
  }

  @Test
  void aChangeNamingNoTenantThatIsNoDeleteIsQuarantinedAsMissingTenant() throws Exception {
    GeneratedRecord g = find(valid(ACME, "orders", "c"));
    // The same insert with its tenant taken out of the key and the row image.
    ObjectMapper json = new ObjectMapper();
    JsonNode root = json.readTree(g.value());
    JsonNode payload = root.has("payload") ? root.get("payload") : root;
    ((ObjectNode) payload.get("after")).putNull("tenant_id");
    byte[] value = json.writeValueAsBytes(root);
    byte[] key = ("{\"id\":" + truth(g).after().get("id") + "}").getBytes(StandardCharsets.UTF_8);
    RawRecord raw = feed(g.topic(), key, value, g.timestamp());

    QuarantineRecord q = quarantined().get(0);
    assertThat(quarantined()).hasSize(1);
    assertThat(q.getReasonCode()).isEqualTo("MISSING_TENANT");
    assertThat(q.getTenantId()).isNull();
    assertThat(q.getReason()).contains("op c", "orders", raw.origin());
    for (String v : distinctiveValues(truth(g))) {
      assertThat(q.getReason()).doesNotContain(v);
    }
    assertSealed(q, raw);
    // No tenant, so no receipt to count it in.
    assertThat(out()).isEmpty();
  }

  @Test
  void aKeyOnlyDeleteNamingNoTenantLeavesWithOnlyItsKeyAndTenantColumns() throws Exception {
    GeneratedRecord g =
        find(
            r ->
                r.truth() instanceof Truth.Valid v
                    && v.table().equals("orders")
                    && v.op().equals("d")
                    && namesNoTenant(r));
    Truth.Valid t = truth(g);
    RawRecord raw = feed(g);

    Map<String, String> expected = new LinkedHashMap<>();
    for (String column : SPEC.table("orders").columns().keySet()) {
      expected.put(column, null);
    }
    expected.put("id", t.before().get("id"));
    assertThat(out())
        .singleElement()
        .satisfies(
            e -> {
              assertThat(e.getDisposition()).isEqualTo(Disposition.APPLY);
              assertThat(e.getTenantId()).isNull();
              assertThat(e.getOp()).isEqualTo("d");
              assertThat(e.getBefore()).isEqualTo(expected);
              assertThat(e.getAfter()).isNull();
              // Not redacted here: the row's stored image, redacted by its tenant's policy, is.
              assertThat(e.getPolicyVersion()).isZero();
              assertThat(bytes(e.getRawValue())).isNotEqualTo(raw.value());
              assertThat(open(e.getRawKey(), raw, "key")).isEqualTo(raw.key());
              assertThat(open(e.getRawValue(), raw, "value")).isEqualTo(raw.value());
            });
    assertThat(quarantined()).isEmpty();
  }

  // ---- paused and offboarded -----------------------------------------------------------------

  @Test
  void aPausedTenantsChangeLeavesAsOnePausedMarkerOnly() throws Exception {
    GeneratedRecord g = find(valid(INITECH, "orders", "c"));
    RawRecord raw = feed(g);

    assertThat(out())
        .singleElement()
        .satisfies(
            m -> {
              assertThat(m.getDisposition()).isEqualTo(Disposition.PAUSED);
              assertThat(m.getTenantId()).isEqualTo(INITECH);
              assertThat(m.getSourceTable()).isEqualTo("orders");
              assertThat(m.getPolicyVersion()).isEqualTo(1L);
              assertThat(m.getEventTime()).isEqualTo(raw.timestamp());
              assertThat(m.getOriginOffset()).isEqualTo(raw.offset());
              assertThat(m.getBefore()).isNull();
              assertThat(m.getAfter()).isNull();
              assertThat(m.getRawKey()).isNull();
              assertThat(m.getRawValue()).isNull();
            });
    assertThat(quarantined()).isEmpty();
    assertThat(audited()).isEmpty();
  }

  @Test
  void anOffboardedTenantsChangesLeaveNothingOnAnyOutput() throws Exception {
    feed(find(valid(UMBRELLA, "page_views", "c")));
    feed(find(valid(UMBRELLA, "orders", "c")));
    feed(find(valid(UMBRELLA, "invoices", "c")));

    assertThat(harness.getOutput()).isEmpty();
    assertThat(quarantined()).isEmpty();
    assertThat(audited()).isEmpty();
  }

  // ---- policy updates ------------------------------------------------------------------------

  @Test
  void aNewerPolicyAppliesIsAuditedAndRedactsLaterChanges() throws Exception {
    publish(ACME, ACME_V2);

    assertThat(audited())
        .singleElement()
        .satisfies(
            a -> {
              assertThat(a.getType()).isEqualTo(AuditType.POLICY_APPLIED);
              assertThat(a.getTenantId()).isEqualTo(ACME);
              assertThat(a.getPolicyVersion()).isEqualTo(2L);
              assertThat(a.getReason()).isEqualTo("policy version 2 (active) replaces version 1");
              assertThat(a.getOrigin()).isEqualTo(POLICY_ORIGIN + "0");
              assertThat(a.getExportVersion()).isEqualTo(SPEC.version());
              assertThat(a.getJobVersion()).isEqualTo(JOB_VERSION);
            });
    assertThat(out()).isEmpty();
    assertThat(harness.getBroadcastState(Policies.STATE).get(ACME).getText()).isEqualTo(ACME_V2);

    GeneratedRecord g = find(valid(ACME, "page_views", "c"));
    feed(g);
    Map<String, String> expected = copy(truth(g).after());
    expected.put("user_email", hmac(ACME_K2, expected.get("user_email")));
    expected.put("ip", null);
    assertThat(out()).singleElement().extracting(ChangeEvent::getAfter).isEqualTo(expected);
    assertThat(out().get(0).getPolicyVersion()).isEqualTo(2L);
  }

  @Test
  void everyUnusableUpdateIsRejectedWithItsReasonAndThePolicyInForceStays() throws Exception {
    publish(ACME, ACME_V2);
    String changed = ACME_V2.replace("customer_name: drop", "customer_name: keep");
    publish(ACME, ACME_V1);
    publish(ACME, changed);
    publish(
        ACME,
        ACME_V2
            .replace("tenant: t00-acme", "tenant: t01-globex")
            .replace("version: 2", "version: 3"));
    publish(ACME, "tenant: t00-acme\nversion: [3\n");

    List<AuditEvent> audit = audited();
    assertThat(audit)
        .extracting(AuditEvent::getType)
        .containsExactly(
            AuditType.POLICY_APPLIED,
            AuditType.POLICY_REJECTED,
            AuditType.POLICY_REJECTED,
            AuditType.POLICY_REJECTED,
            AuditType.POLICY_REJECTED);
    assertThat(audit).allSatisfy(a -> assertThat(a.getTenantId()).isEqualTo(ACME));
    assertThat(audit)
        .extracting(AuditEvent::getPolicyVersion)
        .containsExactly(2L, 1L, 2L, 3L, null);
    assertThat(audit.get(1).getReason())
        .isEqualTo(POLICY_ORIGIN + "1: version 1 is older than version 2 in force");
    assertThat(audit.get(2).getReason())
        .isEqualTo(
            POLICY_ORIGIN
                + "2: version 2 is already in force with different content; raise the version");
    assertThat(audit.get(3).getReason())
        .isEqualTo(
            POLICY_ORIGIN
                + "3: published for tenant t00-acme but the document is tenant t01-globex");
    assertThat(audit.get(4).getReason()).startsWith(POLICY_ORIGIN + "4:").contains("YAML");
    for (int i = 0; i < audit.size(); i++) {
      assertThat(audit.get(i).getOrigin()).isEqualTo(POLICY_ORIGIN + i);
    }
    assertThat(harness.getBroadcastState(Policies.STATE).get(ACME).getText()).isEqualTo(ACME_V2);

    feed(find(valid(ACME, "orders", "c")));
    feed(find(valid(GLOBEX, "orders", "c")));
    assertThat(out()).hasSize(2);
    assertThat(out().get(0).getPolicyVersion()).isEqualTo(2L);
    assertThat(out().get(0).getAfter()).containsEntry("customer_name", null);
    // The document claiming globex under acme's key gave globex no policy either.
    assertThat(quarantined())
        .singleElement()
        .extracting(QuarantineRecord::getReasonCode)
        .isEqualTo("NO_POLICY");
  }

  @Test
  void anUpdateHashingWithAKeyThisJobLacksAppliesAndItsChangesAreQuarantined() throws Exception {
    // Whether an update applies never depends on the keys one machine holds: every instance must
    // decide alike. The changes it cannot redact are refused, replayable, and never exported raw.
    publish(ACME, acmePolicy(3, "k9", "drop"));
    assertThat(audited())
        .singleElement()
        .extracting(AuditEvent::getType)
        .isEqualTo(AuditType.POLICY_APPLIED);
    feed(find(valid(ACME, "page_views", "c")));
    assertThat(quarantined())
        .singleElement()
        .satisfies(
            q -> {
              assertThat(q.getReasonCode()).isEqualTo("UNREDACTABLE");
              assertThat(q.getReason())
                  .contains(ACME, "k9")
                  .doesNotContain(HexFormat.of().formatHex(ACME_K1));
            });
    assertThat(out())
        .singleElement()
        .extracting(ChangeEvent::getDisposition)
        .isEqualTo(Disposition.QUARANTINED);
  }

  @Test
  void reSendingThePolicyInForceEmitsNothing() throws Exception {
    publish(ACME, ACME_V1);
    assertThat(harness.getOutput()).isEmpty();
    assertThat(audited()).isEmpty();

    publish(ACME, ACME_V2);
    publish(ACME, ACME_V2);
    assertThat(audited()).hasSize(1);
    assertThat(harness.getOutput()).isEmpty();
  }

  @Test
  void aPolicyForATenantWithoutOneStartsItsExport() throws Exception {
    String globexV1 =
        "tenant: t01-globex\nversion: 1\nstatus: active\ntables:\n  orders:\n    status: keep\n";
    publish(GLOBEX, globexV1);
    assertThat(audited())
        .singleElement()
        .extracting(AuditEvent::getReason)
        .isEqualTo("policy version 1 (active) replaces no policy");

    GeneratedRecord g = find(valid(GLOBEX, "orders", "c"));
    feed(g);
    Map<String, String> expected = copy(truth(g).after());
    expected.put("customer_name", null);
    expected.put("amount", null); // a metric column without a rule is dropped like any other
    assertThat(out()).singleElement().extracting(ChangeEvent::getAfter).isEqualTo(expected);
    assertThat(quarantined()).isEmpty();
  }

  @Test
  void offboardingByUpdateStopsTheTenantsExport() throws Exception {
    publish(ACME, statusOnly(ACME, 2, "offboarded"));
    assertThat(audited())
        .singleElement()
        .extracting(AuditEvent::getReason)
        .isEqualTo("policy version 2 (offboarded) replaces version 1");
    feed(find(valid(ACME, "page_views", "c")));
    assertThat(harness.getOutput()).isEmpty();
    assertThat(quarantined()).isEmpty();
  }

  @Test
  void everySubtaskAppliesAnUpdateButOnlySubtaskZeroAuditsIt() throws Exception {
    harness.close();
    harness = newHarness(folder(), keyOptions, 2, 1);
    harness.open();

    publish(ACME, ACME_V2);
    publish(ACME, ACME_V1);
    assertThat(audited()).isEmpty();
    feed(find(valid(ACME, "page_views", "c")));
    assertThat(out()).singleElement().extracting(ChangeEvent::getPolicyVersion).isEqualTo(2L);
  }

  @Test
  void anActiveFolderPolicyHashingWithAMissingKeyFailsOpenNamingTenantAndKey() throws Exception {
    Map<String, String> folder = Map.of(ACME, acmePolicy(1, "k9", "drop"));
    var failing = newHarness(folder, keyOptions, 1, 0);
    try {
      assertThatThrownBy(failing::open)
          .isInstanceOf(IllegalStateException.class)
          .hasMessageContaining(ACME)
          .hasMessageContaining("k9")
          .hasMessageContaining(FOLDER)
          .satisfies(
              ex -> {
                for (byte[] k : List.of(ACME_K1, ACME_K2, QUARANTINE_KEY)) {
                  assertThat(ex.getMessage())
                      .doesNotContain(HexFormat.of().formatHex(k))
                      .doesNotContain(Base64.getEncoder().encodeToString(k));
                }
              });
    } finally {
      failing.close();
    }
  }

  @Test
  void aPausedFolderPolicyNeedsNoKeys() throws Exception {
    Map<String, String> folder =
        Map.of(ACME, acmePolicy(1, "k9", "drop").replace("status: active", "status: paused"));
    var paused = newHarness(folder, keyOptions, 1, 0);
    try {
      paused.open();
    } finally {
      paused.close();
    }
  }

  // ---- snapshot and restore ------------------------------------------------------------------

  @Test
  void policiesReceivedOnTheBroadcastInputSurviveASnapshotAndRestore() throws Exception {
    publish(ACME, ACME_V2);
    publish(GLOBEX, statusOnly(GLOBEX, 1, "paused"));
    OperatorSubtaskState snapshot = harness.snapshot(1L, 1L);
    harness.close();

    harness = newHarness(folder(), keyOptions, 1, 0);
    harness.initializeState(snapshot);
    harness.open();

    GeneratedRecord g = find(valid(ACME, "page_views", "c"));
    feed(g);
    feed(find(valid(GLOBEX, "orders", "c")));
    Map<String, String> expected = copy(truth(g).after());
    expected.put("user_email", hmac(ACME_K2, expected.get("user_email")));
    expected.put("ip", null);
    assertThat(out()).hasSize(2);
    assertThat(out().get(0).getPolicyVersion()).isEqualTo(2L);
    assertThat(out().get(0).getAfter()).isEqualTo(expected);
    assertThat(out().get(1).getDisposition()).isEqualTo(Disposition.PAUSED);
    assertThat(quarantined()).isEmpty();

    // The restored version is the one in force: the same document again is no change, v1 is old.
    publish(ACME, ACME_V2);
    publish(ACME, ACME_V1);
    assertThat(audited())
        .singleElement()
        .extracting(AuditEvent::getType)
        .isEqualTo(AuditType.POLICY_REJECTED);
  }

  @Test
  void aRestoredPolicyWhoseKeyWasWithdrawnQuarantinesItsChangesAsUnredactable() throws Exception {
    publish(ACME, ACME_V2);
    OperatorSubtaskState snapshot = harness.snapshot(1L, 1L);
    harness.close();

    harness = newHarness(folder(), writeKeystore("without-k2.p12", false), 1, 0);
    harness.initializeState(snapshot);
    harness.open();
    GeneratedRecord g = find(valid(ACME, "page_views", "c"));
    RawRecord raw = feed(g);

    QuarantineRecord q = quarantined().get(0);
    assertThat(quarantined()).hasSize(1);
    assertThat(q.getReasonCode()).isEqualTo("UNREDACTABLE");
    assertThat(q.getTenantId()).isEqualTo(ACME);
    assertThat(q.getReason()).contains("version 2", ACME, "k2", raw.origin());
    for (String v : distinctiveValues(truth(g))) {
      assertThat(q.getReason()).doesNotContain(v);
    }
    assertSealed(q, raw);
    assertThat(out()).hasSize(1);
    assertMarkerOf(out().get(0), q, raw);
  }

  // ---- whole traffic -------------------------------------------------------------------------

  @Test
  void everyRecordLeavesAsExactlyTheOutcomeItsTruthCalls() throws Exception {
    List<GeneratedRecord> all =
        new TrafficGenerator(config().malformedRate(0.05).build()).take(3_000);
    int applied = 0;
    for (GeneratedRecord g : all) {
      int outBefore = out().size();
      int quarantinedBefore = quarantined().size();
      RawRecord raw = feed(g);
      List<ChangeEvent> emitted = out().subList(outBefore, out().size());
      List<QuarantineRecord> refused =
          quarantined().subList(quarantinedBefore, quarantined().size());
      String where = g.toString();

      if (g.truth() instanceof Truth.Tombstone) {
        assertThat(emitted).as(where).isEmpty();
        assertThat(refused).as(where).isEmpty();
      } else if (g.truth() instanceof Truth.Malformed m && UMBRELLA.equals(m.tenantIdOrNull())) {
        // Nothing of an offboarded tenant is kept, not even sealed in the quarantine.
        assertThat(emitted).as(where).isEmpty();
        assertThat(refused).as(where).isEmpty();
      } else if (g.truth() instanceof Truth.Malformed m) {
        assertThat(refused)
            .as(where)
            .singleElement()
            .satisfies(
                q -> {
                  assertThat(q.getReasonCode()).isEqualTo(m.expected().name());
                  assertThat(q.getTenantId()).isEqualTo(m.tenantIdOrNull());
                  assertSealed(q, raw);
                });
        assertThat(emitted).as(where).hasSize(m.tenantIdOrNull() == null ? 0 : 1);
      } else {
        Truth.Valid v = truth(g);
        String expectedCode = null;
        Disposition expectedMarker = null;
        boolean keyOnly = v.op().equals("d") && namesNoTenant(g);
        if (keyOnly) {
          expectedMarker = Disposition.APPLY;
        } else if (v.tenantId().equals(ACME)) {
          if (v.table().equals("invoices")) {
            expectedCode = "TABLE_NOT_ALLOWED";
          } else {
            expectedMarker = Disposition.APPLY;
          }
        } else if (v.tenantId().equals(GLOBEX)) {
          expectedCode = "NO_POLICY";
        } else if (v.tenantId().equals(INITECH)) {
          expectedMarker = Disposition.PAUSED;
        }
        if (expectedCode != null) {
          String code = expectedCode;
          assertThat(refused)
              .as(where)
              .singleElement()
              .satisfies(q -> assertThat(q.getReasonCode()).isEqualTo(code));
          assertThat(emitted)
              .as(where)
              .singleElement()
              .extracting(ChangeEvent::getDisposition)
              .isEqualTo(Disposition.QUARANTINED);
        } else if (expectedMarker != null) {
          assertThat(refused).as(where).isEmpty();
          assertThat(emitted)
              .as(where)
              .singleElement()
              .extracting(ChangeEvent::getDisposition)
              .isEqualTo(expectedMarker);
          if (expectedMarker == Disposition.APPLY) {
            applied++;
            ChangeEvent e = emitted.get(0);
            assertThat(e.getTenantId()).as(where).isEqualTo(keyOnly ? null : ACME);
            assertThat(e.getPolicyVersion()).as(where).isEqualTo(keyOnly ? 0L : 1L);
          }
        } else {
          assertThat(emitted).as(where).isEmpty(); // offboarded
          assertThat(refused).as(where).isEmpty();
        }
      }
    }
    assertThat(applied).isGreaterThan(100);
  }

  @Test
  void nothingEmittedCarriesAnyPersonalDataValue() throws Exception {
    List<GeneratedRecord> all =
        new TrafficGenerator(config().malformedRate(0.05).seed(7).build()).take(3_000);
    List<String> pii = new ArrayList<>();
    for (int i = 0; i < all.size(); i++) {
      GeneratedRecord g = all.get(i);
      if (g.truth() instanceof Truth.Valid v) {
        pii.addAll(personalData(v));
      }
      feed(g);
      if (i == all.size() / 2) {
        // Updates mid-stream, so that accepted and rejected policies are audited too.
        publish(ACME, ACME_V2);
        publish(ACME, ACME_V1);
        publish(GLOBEX, "tenant: t01-globex\nversion: 1\nstatus: active\ntables: {orders: {}}\n");
        publish(INITECH, "tenant: [");
      }
    }
    assertThat(pii).hasSizeGreaterThan(1_000).allSatisfy(p -> assertThat(p).startsWith(PII_MARKER));
    assertThat(quarantined()).hasSizeGreaterThan(100);
    assertThat(audited()).hasSize(4);

    List<String> emitted = new ArrayList<>();
    quarantined().forEach(q -> emitted.add(q.getReason()));
    audited().forEach(a -> emitted.add(a.getReason()));
    for (ChangeEvent e : out()) {
      Stream.of(e.getBefore(), e.getAfter())
          .filter(Objects::nonNull)
          .forEach(m -> m.values().stream().filter(Objects::nonNull).forEach(emitted::add));
      emitted.add(e.getEventId());
      emitted.add(e.getScopeKey());
      emitted.add(String.valueOf(e.getRowKey()));
    }
    // The canary prefix covers every personal-data value; the exact values are checked as well.
    assertThat(emitted).noneMatch(s -> s.contains(PII_MARKER));
    assertThat(emitted).noneMatch(s -> pii.stream().anyMatch(s::contains));
  }
}
