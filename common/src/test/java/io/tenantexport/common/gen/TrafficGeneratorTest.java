package io.tenantexport.common.gen;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import io.tenantexport.common.cdc.CdcDecoder;
import io.tenantexport.common.cdc.DecodeResult;
import io.tenantexport.common.cdc.QuarantineReason;
import io.tenantexport.common.cdc.RawRecord;
import io.tenantexport.common.gen.DebeziumReader.Parsed;
import io.tenantexport.common.spec.ExportSpec;
import io.tenantexport.common.spec.TableSpec;
import io.tenantexport.common.tenant.TenantId;
import io.tenantexport.schemas.ChangeEvent;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Base64;
import java.util.EnumMap;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

class TrafficGeneratorTest {
  private static final Instant START = Instant.parse("2024-03-01T08:00:00Z");
  private static final ExportSpec SPEC =
      ExportSpec.load(Path.of("..", "deploy", "export-spec.yaml"));
  private static final List<String> PG_SOURCE_FIELDS =
      List.of(
          "version",
          "connector",
          "name",
          "ts_ms",
          "snapshot",
          "db",
          "sequence",
          "schema",
          "table",
          "txId",
          "lsn",
          "xmin");
  private static final List<String> MYSQL_SOURCE_FIELDS =
      List.of(
          "version",
          "connector",
          "name",
          "ts_ms",
          "snapshot",
          "db",
          "table",
          "server_id",
          "gtid",
          "file",
          "pos",
          "row",
          "thread",
          "query");
  private static final List<String> PAYLOAD_FIELDS =
      List.of("before", "after", "source", "op", "ts_ms", "transaction");

  private static TrafficGenerator generator;
  private static List<GeneratedRecord> records;

  @BeforeAll
  static void generate() {
    generator = new TrafficGenerator(TrafficGenerator.Config.defaults(START));
    records = generator.take(50_000);
  }

  private static Iterable<Truth.Valid> valids() {
    return () ->
        records.stream()
            .filter(r -> r.truth() instanceof Truth.Valid)
            .map(r -> (Truth.Valid) r.truth())
            .iterator();
  }

  @Test
  void sameSeedGivesTheSameBytesAndAnotherSeedDoesNot() {
    TrafficGenerator.Config config = TrafficGenerator.Config.defaults(START);
    assertThat(new TrafficGenerator(config).take(20_000)).isEqualTo(records.subList(0, 20_000));
    List<GeneratedRecord> other =
        new TrafficGenerator(config.toBuilder().seed(7).build()).take(1_000);
    assertThat(other).isNotEqualTo(records.subList(0, 1_000));
  }

  @Test
  void topTenantCarriesAboutAThirdOfTheTrafficAndTwoTenantsAreVeryQuiet() {
    Map<String, Integer> perTenant = new HashMap<>();
    int total = 0;
    for (Truth.Valid v : valids()) {
      perTenant.merge(v.tenantId(), 1, Integer::sum);
      total++;
    }
    List<String> ids = generator.tenantIds();
    assertThat(ids).hasSize(24);
    double top = perTenant.get(ids.get(0)) / (double) total;
    System.out.printf("top tenant %s: %.1f %% of %d valid changes%n", ids.get(0), 100 * top, total);
    assertThat(top).isBetween(0.30, 0.40);
    for (String quiet : ids.subList(22, 24)) {
      assertThat(perTenant.getOrDefault(quiet, 0) / (double) total)
          .as(quiet)
          .isGreaterThan(0)
          .isLessThan(0.002);
    }
    assertThat(perTenant.keySet()).containsExactlyInAnyOrderElementsOf(ids);
  }

  @Test
  void tenantIdsAreValidAndEveryValidChangeBelongsToOne() {
    assertThat(generator.tenantIds()).allMatch(TenantId::isValid).doesNotHaveDuplicates();
    Set<String> ids = Set.copyOf(generator.tenantIds());
    for (Truth.Valid v : valids()) {
      assertThat(ids).contains(v.tenantId());
    }
    for (GeneratedRecord r : records) {
      if (r.truth() instanceof Truth.Tombstone) {
        assertThat(ids).contains(((Truth.Tombstone) r.truth()).tenantId());
        assertThat(r.keyText()).isEqualTo(((Truth.Tombstone) r.truth()).tenantId());
        assertThat(r.value()).isNull();
      }
    }
  }

  @Test
  void everyMalformedKindAppearsWithinTwentyThousandRecords() {
    Map<QuarantineReason, Integer> seen = new EnumMap<>(QuarantineReason.class);
    Set<String> hostileKeys = new HashSet<>();
    for (GeneratedRecord r : records.subList(0, 20_000)) {
      if (r.truth() instanceof Truth.Malformed) {
        Truth.Malformed m = (Truth.Malformed) r.truth();
        seen.merge(m.expected(), 1, Integer::sum);
        if (m.expected() == QuarantineReason.INVALID_TENANT_ID) {
          hostileKeys.add(r.keyText());
        }
      }
    }
    System.out.println("malformed in 20k records: " + seen);
    assertThat(seen.keySet())
        .containsExactlyInAnyOrderElementsOf(TrafficGenerator.MALFORMED_REASONS);
    assertThat(hostileKeys)
        .containsExactlyInAnyOrderElementsOf(TrafficGenerator.HOSTILE_TENANT_IDS);
    assertThat(TrafficGenerator.HOSTILE_TENANT_IDS).noneMatch(TenantId::isValid);
    int malformed = seen.values().stream().mapToInt(Integer::intValue).sum();
    assertThat(malformed / 20_000.0).isBetween(0.01, 0.02);
  }

  @Test
  void malformedRecordsAreBrokenTheWayTheirReasonSays() {
    Set<String> tenants = Set.copyOf(generator.tenantIds());
    for (GeneratedRecord r : records) {
      if (!(r.truth() instanceof Truth.Malformed)) {
        continue;
      }
      Truth.Malformed m = (Truth.Malformed) r.truth();
      assertThat(TrafficGenerator.topics()).contains(r.topic());
      assertThat(r.value()).isNotNull();
      if (m.tenantIdOrNull() != null) {
        assertThat(tenants).contains(m.tenantIdOrNull());
        assertThat(r.keyText()).contains(m.tenantIdOrNull());
      }
      if (m.expected() == QuarantineReason.UNDECODABLE_JSON) {
        assertThatThrownBy(() -> DebeziumReader.tree(r.value()))
            .as(r.toString())
            .isInstanceOf(Exception.class);
        continue;
      }
      JsonNode payload = DebeziumReader.parse(r.value()).payload();
      switch (m.expected()) {
        case INVALID_ENVELOPE:
          assertThat(payload.has("op") && payload.has("source")).as(r.toString()).isFalse();
          break;
        case UNKNOWN_TABLE:
          assertThat(payload.path("source").path("table").asText()).isEqualTo("secrets");
          break;
        case UNKNOWN_OP:
          assertThat(payload.path("op").asText()).isNotIn("c", "u", "d", "r");
          break;
        case INVALID_TENANT_ID:
          assertThat(payload.path("after").path("tenant_id").asText()).isEqualTo(r.keyText());
          assertThat(m.tenantIdOrNull()).isNull();
          break;
        case MISSING_TENANT:
          assertThat(payload.path("after").path("tenant_id").isNull()).isTrue();
          if (r.key() != null) {
            assertThat(DebeziumReader.parse(r.key()).payload().path("tenant_id").isNull()).isTrue();
          }
          break;
        case TENANT_MISMATCH:
          assertThat(tenants).contains(payload.path("after").path("tenant_id").asText());
          assertThat(r.keyText()).doesNotContain(payload.path("after").path("tenant_id").asText());
          assertThat(m.tenantIdOrNull()).isNull();
          break;
        case MUTATION_ON_APPEND_ONLY:
          assertThat(payload.path("source").path("table").asText()).isEqualTo("page_views");
          assertThat(payload.path("op").asText()).isIn("u", "d");
          break;
        case MISSING_ROW_KEY:
          assertThat(payload.path("after").has("id")).isFalse();
          break;
        case UNDECODABLE_COLUMN:
          JsonNode after = payload.path("after");
          String encoded =
              after.has("amount") ? after.path("amount").asText() : after.path("total").asText();
          assertThatThrownBy(() -> Base64.getDecoder().decode(encoded))
              .isInstanceOf(IllegalArgumentException.class);
          break;
        default:
          throw new AssertionError("unexpected reason " + m.expected());
      }
    }
  }

  @Test
  void everyEnvelopeHasTheDebeziumShapeAndAMatchingConnectSchema() {
    int wrapped = 0;
    int envelopes = 0;
    for (GeneratedRecord r : records) {
      if (!(r.truth() instanceof Truth.Valid || r.truth() instanceof Truth.Duplicate)) {
        continue;
      }
      envelopes++;
      Parsed parsed = DebeziumReader.parse(r.value());
      JsonNode payload = parsed.payload();
      assertThat(fieldNames(payload)).isEqualTo(PAYLOAD_FIELDS);
      assertThat(payload.path("op").asText()).isIn("c", "u", "d", "r");
      JsonNode source = payload.path("source");
      assertThat(source.path("ts_ms").asLong()).isEqualTo(r.timestamp());
      assertThat(payload.path("ts_ms").asLong()).isGreaterThan(r.timestamp());
      assertThat(r.topic())
          .isEqualTo(
              "cdc."
                  + source.path("db").asText().replace("app", "public")
                  + "."
                  + source.path("table").asText());
      if (r.topic().equals(TrafficGenerator.INVOICES_TOPIC)) {
        assertThat(fieldNames(source)).isEqualTo(MYSQL_SOURCE_FIELDS);
        assertThat(source.path("connector").asText()).isEqualTo("mysql");
        assertThat(source.path("db").asText()).isEqualTo("billing");
        assertThat(source.path("file").asText()).isEqualTo("mysql-bin.000003");
        assertThat(source.path("query").isNull()).isTrue();
        assertThat(source.path("ts_ms").asLong() % 1000).isZero();
      } else {
        assertThat(fieldNames(source)).isEqualTo(PG_SOURCE_FIELDS);
        assertThat(source.path("connector").asText()).isEqualTo("postgresql");
        assertThat(source.path("schema").asText()).isEqualTo("public");
        assertThat(source.path("xmin").isNull()).isTrue();
        JsonNode sequence =
            DebeziumReader.tree(source.path("sequence").asText().getBytes(StandardCharsets.UTF_8));
        assertThat(sequence.get(1).asText()).isEqualTo(source.path("lsn").asText());
      }
      assertThat(source.path("snapshot").asText()).isIn("true", "last", "false");
      if (parsed.wrapped()) {
        wrapped++;
        assertConforms(parsed.schema(), payload, r.toString());
        assertThat(parsed.schema().path("name").asText()).isEqualTo(r.topic() + ".Envelope");
      }
    }
    System.out.printf("%d of %d envelopes schema-wrapped%n", wrapped, envelopes);
    assertThat(wrapped / (double) envelopes).isBetween(0.45, 0.55);
  }

  @Test
  void decimalSchemasCarryTheSpecScaleAndTimeColumnsTheirDebeziumTypeNames() {
    Map<String, Set<String>> typeNames = new TreeMap<>();
    for (GeneratedRecord r : records) {
      if (r.truth() instanceof Truth.Valid && DebeziumReader.parse(r.value()).wrapped()) {
        Parsed parsed = DebeziumReader.parse(r.value());
        String table = ((Truth.Valid) r.truth()).table();
        parsed
            .rowSchema("after")
            .forEach(
                (column, schema) -> {
                  String name = schema.path("name").asText(schema.path("type").asText());
                  if (name.endsWith("Decimal")) {
                    name += "(scale " + schema.path("parameters").path("scale").asText() + ")";
                  }
                  typeNames.computeIfAbsent(table + "." + column, k -> new HashSet<>()).add(name);
                });
      }
    }
    assertThat(typeNames)
        .containsEntry("orders.amount", Set.of("org.apache.kafka.connect.data.Decimal(scale 2)"))
        .containsEntry("invoices.total", Set.of("org.apache.kafka.connect.data.Decimal(scale 4)"))
        .containsEntry("page_views.viewed_at", Set.of("io.debezium.time.MicroTimestamp"))
        .containsEntry("orders.updated_at", Set.of("io.debezium.time.MicroTimestamp"))
        .containsEntry("invoices.issued_at", Set.of("io.debezium.time.Timestamp"))
        .containsEntry("invoices.due_on", Set.of("io.debezium.time.Date"))
        .containsEntry("invoices.metadata", Set.of("io.debezium.data.Json"))
        .containsKeys(
            "page_views.user_email",
            "page_views.ip",
            "orders.customer_name",
            "invoices.billing_address");
  }

  @Test
  void envelopesDecodeToTheirTruth() {
    Map<String, Integer> checked = new TreeMap<>();
    for (GeneratedRecord r : records) {
      if (!(r.truth() instanceof Truth.Valid)) {
        continue;
      }
      Truth.Valid v = (Truth.Valid) r.truth();
      TableSpec spec = SPEC.table(v.table());
      Parsed parsed = DebeziumReader.parse(r.value());
      JsonNode payload = parsed.payload();
      assertThat(payload.path("op").asText()).isEqualTo(v.op());
      assertThat(v.sourceTsMillis()).isEqualTo(r.timestamp());
      Map<String, String> after = DebeziumReader.image(parsed, "after", spec);
      Map<String, String> before = DebeziumReader.image(parsed, "before", spec);
      assertThat(after).as(r.toString()).isEqualTo(v.after());
      if (before != null && before.get("tenant_id") != null) {
        assertThat(before).as(r.toString()).isEqualTo(v.before());
      }
      JsonNode image = v.op().equals("d") ? payload.path("before") : payload.path("after");
      if (image.hasNonNull("tenant_id")) {
        assertThat(image.path("tenant_id").asText()).isEqualTo(v.tenantId());
      }
      long expectedEventTime =
          v.op().equals("d")
              ? payload.path("source").path("ts_ms").asLong()
              : Instant.parse(v.after().get(spec.eventTime())).toEpochMilli();
      assertThat(v.eventTimeMillis()).isEqualTo(expectedEventTime);
      checked.merge(
          v.table() + "/" + v.op() + (parsed.wrapped() ? "/schema" : "/bare"), 1, Integer::sum);
    }
    System.out.println("decoded and checked: " + checked);
    for (String table :
        List.of(
            "page_views/c",
            "orders/c",
            "orders/u",
            "orders/d",
            "orders/r",
            "invoices/c",
            "invoices/u",
            "invoices/d")) {
      assertThat(checked).containsKeys(table + "/schema", table + "/bare");
    }
  }

  @Test
  void truthImagesHoldExactlyTheSpecsDeclaredColumnsInDeclarationOrder() {
    assertThat(SPEC.tables().keySet())
        .containsExactlyInAnyOrder("page_views", "orders", "invoices");
    boolean sawSqlNull = false;
    for (Truth.Valid v : valids()) {
      List<String> declared = List.copyOf(SPEC.table(v.table()).columns().keySet());
      assertThat(v.before() == null).isEqualTo(v.op().equals("c") || v.op().equals("r"));
      assertThat(v.after() == null).isEqualTo(v.op().equals("d"));
      for (Map<String, String> image : Arrays.asList(v.before(), v.after())) {
        if (image != null) {
          assertThat(List.copyOf(image.keySet())).isEqualTo(declared);
          assertThat(image.get("tenant_id")).isEqualTo(v.tenantId());
          sawSqlNull |= image.containsValue(null);
        }
      }
    }
    assertThat(sawSqlNull).as("some invoice has SQL NULL metadata").isTrue();
  }

  @Test
  void defaultReplicaIdentityDeleteHasACompleteTruthBeforeWhileTheEnvelopeCarriesOnlyTheId() {
    int keyOnly = 0;
    int full = 0;
    for (GeneratedRecord r : records) {
      if (!(r.truth() instanceof Truth.Valid)
          || !((Truth.Valid) r.truth()).table().equals("orders")
          || !((Truth.Valid) r.truth()).op().equals("d")) {
        continue;
      }
      Truth.Valid v = (Truth.Valid) r.truth();
      JsonNode before = DebeziumReader.parse(r.value()).payload().path("before");
      if (!before.hasNonNull("tenant_id")) {
        keyOnly++;
        assertThat(before.path("id").asText()).isEqualTo(v.before().get("id"));
        assertThat(v.before().values()).doesNotContainNull();
        assertThat(v.before().get("tenant_id")).isEqualTo(v.tenantId());
        assertThat(r.valueText()).doesNotContain(v.tenantId());
        assertThat(r.keyText()).doesNotContain(v.tenantId()).startsWith("{");
        JsonNode key = DebeziumReader.parse(r.key()).payload();
        assertThat(
                key.has("id")
                    ? key.path("id").asText()
                    : key.path("tenant_id").isNull() ? "null" : "?")
            .isIn(v.before().get("id"), "null");
      } else {
        full++;
        assertThat(r.keyText()).contains(v.tenantId());
        assertThat(before.path("tenant_id").asText()).isEqualTo(v.tenantId());
      }
    }
    System.out.printf("orders deletes: %d key-only, %d with full before%n", keyOnly, full);
    assertThat(keyOnly).isGreaterThan(50);
    assertThat(full).isGreaterThan(50);
  }

  @Test
  void
      schemaWrappedKeyOnlyDeletesCarryExplicitNullsForEveryOtherColumnAndSchemalessOnesOnlyTheId() {
    int wrapped = 0;
    int bare = 0;
    for (GeneratedRecord r : records) {
      if (!(r.truth() instanceof Truth.Valid)
          || !r.topic().equals(TrafficGenerator.ORDERS_TOPIC)
          || !((Truth.Valid) r.truth()).op().equals("d")) {
        continue;
      }
      Truth.Valid v = (Truth.Valid) r.truth();
      Parsed parsed = DebeziumReader.parse(r.value());
      JsonNode before = parsed.payload().path("before");
      if (before.hasNonNull("tenant_id")) {
        continue;
      }
      assertThat(before.path("id").asText()).isEqualTo(v.before().get("id"));
      if (parsed.wrapped()) {
        wrapped++;
        // JsonConverter writes every field of the struct, in the struct's order.
        List<String> structFields = new ArrayList<>();
        for (JsonNode f : parsed.schema().path("fields")) {
          if (f.path("field").asText().equals("before")) {
            f.path("fields").forEach(col -> structFields.add(col.path("field").asText()));
          }
        }
        assertThat(structFields)
            .startsWith("id")
            .contains("tenant_id", "status", "amount", "customer_name", "updated_at");
        assertThat(fieldNames(before)).as(r.toString()).isEqualTo(structFields);
        for (String column : structFields.subList(1, structFields.size())) {
          assertThat(before.get(column).isNull()).as("%s in %s", column, r).isTrue();
        }
      } else {
        bare++;
        assertThat(fieldNames(before)).as(r.toString()).containsExactly("id");
      }
      // The truth is untouched by the envelope's shape: the complete true before image and the true
      // tenant.
      assertThat(v.before().values()).doesNotContainNull();
      assertThat(v.before().get("tenant_id")).isEqualTo(v.tenantId());
    }
    System.out.printf("key-only orders deletes: %d schema-wrapped, %d schemaless%n", wrapped, bare);
    assertThat(wrapped).isGreaterThan(25);
    assertThat(bare).isGreaterThan(25);
  }

  @Test
  void ordersUpdatesWithoutBeforeImageStillHaveTheTrueBeforeInTheirTruth() {
    Map<String, Map<String, String>> lastImage = new HashMap<>();
    int withoutBefore = 0;
    for (GeneratedRecord r : records) {
      if (!(r.truth() instanceof Truth.Valid)
          || !((Truth.Valid) r.truth()).table().equals("orders")) {
        continue;
      }
      Truth.Valid v = (Truth.Valid) r.truth();
      String id = (v.after() != null ? v.after() : v.before()).get("id");
      if (!v.op().equals("c") && !v.op().equals("r")) {
        assertThat(v.before()).as("row %s", id).isEqualTo(lastImage.get(id));
      }
      if (v.op().equals("u") && DebeziumReader.parse(r.value()).payload().path("before").isNull()) {
        withoutBefore++;
      }
      lastImage.put(id, v.after());
    }
    assertThat(withoutBefore).isGreaterThan(100);
  }

  @Test
  void identitiesAreUniqueAndDuplicatesResendTheExactBytesOfAnEarlierChange() {
    Map<String, GeneratedRecord> byIdentity = new HashMap<>();
    int duplicates = 0;
    for (GeneratedRecord r : records) {
      if (r.truth() instanceof Truth.Valid) {
        assertThat(byIdentity.put(((Truth.Valid) r.truth()).identity(), r)).isNull();
      } else if (r.truth() instanceof Truth.Duplicate) {
        duplicates++;
        GeneratedRecord original = byIdentity.get(((Truth.Duplicate) r.truth()).identity());
        assertThat(original).isNotNull();
        assertThat(r.key()).isEqualTo(original.key());
        assertThat(r.value()).isEqualTo(original.value());
        assertThat(r.timestamp()).isEqualTo(original.timestamp());
        assertThat(r.topic()).isEqualTo(original.topic());
      }
    }
    assertThat(duplicates / (double) records.size()).isBetween(0.02, 0.08);
  }

  @Test
  void replayedSlicesResendRecentChangesInTheirOriginalOrder() {
    int longestRun = 0;
    int run = 0;
    for (GeneratedRecord r : records) {
      run = r.truth() instanceof Truth.Duplicate ? run + 1 : 0;
      longestRun = Math.max(longestRun, run);
    }
    assertThat(longestRun).isGreaterThanOrEqualTo(5);
  }

  @Test
  void onlyDeliberatelyLateChangesFallBehindTheirTenantsClock() {
    Map<String, Long> clock = new HashMap<>();
    Duration lateBy = generator.config().lateBy();
    int late = 0;
    for (Truth.Valid v : valids()) {
      long tenantClock = clock.getOrDefault(v.tenantId(), Long.MIN_VALUE);
      if (v.late()) {
        late++;
        assertThat(v.table()).isEqualTo("page_views");
        assertThat(v.eventTimeMillis()).isLessThanOrEqualTo(tenantClock - lateBy.toMillis());
      } else if (tenantClock != Long.MIN_VALUE) {
        // Within the spec's allowed lateness of everything the tenant did before, in generation
        // order.
        assertThat(v.eventTimeMillis())
            .as(v.toString())
            .isGreaterThan(tenantClock - SPEC.allowedLateness().toMillis());
      }
      clock.put(v.tenantId(), Math.max(tenantClock, v.eventTimeMillis()));
    }
    assertThat(late).isBetween(50, 300);
  }

  @Test
  void snapshotOfOrdersComesFirstAndSharesOneLsn() {
    List<GeneratedRecord> snapshot = records.subList(0, 120);
    Set<String> lsns = new HashSet<>();
    for (int i = 0; i < snapshot.size(); i++) {
      GeneratedRecord r = snapshot.get(i);
      Truth.Valid v = (Truth.Valid) r.truth();
      JsonNode source = DebeziumReader.parse(r.value()).payload().path("source");
      assertThat(v.op()).isEqualTo("r");
      assertThat(source.path("snapshot").asText()).isEqualTo(i == 119 ? "last" : "true");
      assertThat(v.eventTimeMillis()).isLessThan(START.toEpochMilli());
      assertThat(r.timestamp()).isEqualTo(START.toEpochMilli());
      lsns.add(source.path("lsn").asText());
    }
    assertThat(lsns).hasSize(1);
    assertThat(((Truth.Valid) records.get(120).truth()).op()).isNotEqualTo("r");
  }

  @Test
  void sourcePositionsGrowAndOnlyChangesOfOneCommitOrStatementShareThem() {
    long[] lastPg = {-1, -1};
    long lastTx = 0;
    long lastPos = 0;
    int lastRow = -1;
    int sharedWithOrder = 0;
    int sharedWithoutOrder = 0;
    int multiRow = 0;
    Map<Long, List<JsonNode>> byLsn = new HashMap<>();
    for (GeneratedRecord r : records) {
      if (!(r.truth() instanceof Truth.Valid)) {
        continue;
      }
      JsonNode payload = DebeziumReader.parse(r.value()).payload();
      JsonNode source = payload.path("source");
      if (source.path("connector").asText().equals("postgresql")) {
        long lsn = source.path("lsn").asLong();
        long[] pg = pgSequence(source);
        assertThat(Arrays.compare(pg, lastPg)).as(r.toString()).isNotNegative();
        if (Arrays.equals(pg, lastPg)) {
          assertThat(source.path("txId").asLong()).isEqualTo(lastTx);
        }
        lastPg = pg;
        lastTx = source.path("txId").asLong();
        if (source.path("snapshot").asText().equals("false")) {
          byLsn.computeIfAbsent(lsn, k -> new ArrayList<>()).add(payload);
        }
      } else {
        long pos = source.path("pos").asLong();
        int row = source.path("row").asInt();
        assertThat(pos > lastPos || (pos == lastPos && row == lastRow + 1))
            .as(r.toString())
            .isTrue();
        multiRow += row > 0 ? 1 : 0;
        lastPos = pos;
        lastRow = row;
      }
    }
    for (List<JsonNode> commit : byLsn.values()) {
      if (commit.size() > 1) {
        assertThat(commit).hasSize(2);
        if (commit.get(0).path("transaction").isNull()) {
          sharedWithoutOrder++;
          assertThat(commit.get(1).path("transaction").isNull()).isTrue();
        } else {
          sharedWithOrder++;
          assertThat(commit.get(0).path("transaction").path("total_order").asInt()).isEqualTo(1);
          assertThat(commit.get(1).path("transaction").path("total_order").asInt()).isEqualTo(2);
        }
      }
    }
    assertThat(sharedWithOrder).isGreaterThan(20);
    assertThat(sharedWithoutOrder).isGreaterThan(20);
    assertThat(multiRow).isGreaterThan(20);
  }

  @Test
  void keysNameTheTenantAsPlainTextMostlyAndAsJsonSometimes() {
    int plain = 0;
    int json = 0;
    int wrapped = 0;
    for (GeneratedRecord r : records) {
      if (!(r.truth() instanceof Truth.Valid)) {
        continue;
      }
      Truth.Valid v = (Truth.Valid) r.truth();
      if (r.keyText().equals(v.tenantId())) {
        plain++;
        continue;
      }
      Parsed key = DebeziumReader.parse(r.key());
      wrapped += key.wrapped() ? 1 : 0;
      if (key.payload().has("id")) {
        assertThat(v.op()).isEqualTo("d");
      } else if (key.payload().path("tenant_id").isNull()) {
        assertThat(v.op()).isEqualTo("d");
      } else {
        json++;
        assertThat(key.payload().path("tenant_id").asText()).isEqualTo(v.tenantId());
      }
    }
    assertThat(plain / (double) (plain + json)).isBetween(0.8, 0.9);
    assertThat(wrapped).isGreaterThan(0);
  }

  @Test
  void tombstonesFollowSomeDeletesWithTheRowsTenantAsKey() {
    int tombstones = 0;
    for (int i = 1; i < records.size(); i++) {
      GeneratedRecord r = records.get(i);
      if (r.truth() instanceof Truth.Tombstone) {
        tombstones++;
        Truth.Valid delete = (Truth.Valid) records.get(i - 1).truth();
        assertThat(delete.op()).isEqualTo("d");
        assertThat(((Truth.Tombstone) r.truth()).tenantId()).isEqualTo(delete.tenantId());
        assertThat(r.topic()).isEqualTo(records.get(i - 1).topic());
        assertThat(r.timestamp()).isEqualTo(records.get(i - 1).timestamp());
      }
    }
    assertThat(tombstones).isGreaterThan(100);
  }

  @Test
  void builderStartsFromTheDefaultsAndToBuilderRoundTrips() {
    TrafficGenerator.Config defaults = TrafficGenerator.Config.defaults(START);
    assertThat(defaults)
        .isEqualTo(
            new TrafficGenerator.Config(
                42L,
                24,
                START,
                Duration.ofMillis(20),
                1.2,
                2,
                0.6,
                0.25,
                0.03,
                0.0005,
                50,
                0.015,
                0.003,
                Duration.ofHours(2),
                0.5,
                0.15,
                0.08,
                0.1,
                0.5,
                0.5,
                0.5,
                120,
                Duration.ofSeconds(90),
                256,
                Duration.ofDays(1),
                Duration.ofSeconds(60),
                null));
    assertThat(TrafficGenerator.Config.builder(START).build()).isEqualTo(defaults);
    TrafficGenerator.Config changed =
        defaults.toBuilder().seed(7).tenants(10).quietTenants(1).interleaveShare(0).build();
    assertThat(changed.toBuilder().build()).isEqualTo(changed);
    assertThat(changed.seed()).isEqualTo(7);
    assertThat(changed.tenants()).isEqualTo(10);
    assertThat(changed.quietTenants()).isEqualTo(1);
    assertThat(changed.interleaveShare()).isZero();
    assertThat(
            changed.toBuilder().seed(42).tenants(24).quietTenants(2).interleaveShare(0.1).build())
        .isEqualTo(defaults);
  }

  @Test
  void invalidConfigIsRefusedNamingTheRuleAndValue() {
    TrafficGenerator.Config defaults = TrafficGenerator.Config.defaults(START);
    assertThatThrownBy(() -> defaults.toBuilder().tenants(0).quietTenants(0).build())
        .hasMessageContaining("tenants")
        .hasMessageContaining("0");
    assertThatThrownBy(
            () ->
                defaults.toBuilder()
                    .duplicateRate(0.3)
                    .replayRate(0)
                    .malformedRate(0.3)
                    .lateRate(0)
                    .build())
        .hasMessageContaining("at most 0.5");
    assertThatThrownBy(() -> defaults.toBuilder().meanGap(Duration.ZERO).build())
        .hasMessageContaining("meanGap");
  }

  @Test
  void withoutFaultsEveryRecordIsAValidChangeOrATombstone() {
    List<GeneratedRecord> clean =
        new TrafficGenerator(
                TrafficGenerator.Config.builder(START)
                    .duplicateRate(0)
                    .replayRate(0)
                    .malformedRate(0)
                    .lateRate(0)
                    .build())
            .take(10_000);
    assertThat(clean)
        .allMatch(r -> r.truth() instanceof Truth.Valid || r.truth() instanceof Truth.Tombstone);
    assertThat(clean)
        .noneMatch(r -> r.truth() instanceof Truth.Valid && ((Truth.Valid) r.truth()).late());
  }

  @Test
  void aMillionRecordsAreGeneratedQuicklyWithBoundedState() {
    TrafficGenerator.Config config =
        TrafficGenerator.Config.builder(START).seed(1).meanGap(Duration.ofMillis(1)).build();
    TrafficGenerator big = new TrafficGenerator(config);
    Iterator<GeneratedRecord> it = big;
    long bytes = 0;
    long started = System.nanoTime();
    for (int i = 0; i < 1_000_000; i++) {
      GeneratedRecord r = it.next();
      bytes += r.value() == null ? 0 : r.value().length;
    }
    double seconds = (System.nanoTime() - started) / 1e9;
    System.out.printf(
        "1,000,000 records (%.0f MB of values) in %.2f s: %.0f records/s%n",
        bytes / 1e6, seconds, 1_000_000 / seconds);
    assertThat(big.liveRowCount())
        .isLessThanOrEqualTo(config.tenants() * 2 * config.maxLiveRowsPerTenant());
  }

  @Test
  void postgresTransactionsInterleaveInTheWalWhileSequencesFollowCommitOrder() {
    Map<String, long[]> lastPerTopic = new HashMap<>();
    Map<String, Long> maxLsnPerTopic = new HashMap<>();
    Map<String, Integer> interleavedPerTopic = new TreeMap<>();
    Map<Long, String> transactionOfTxId = new HashMap<>();
    long previousCommit = Long.MIN_VALUE;
    long maxLsnOfEarlierTransactions = Long.MIN_VALUE;
    long maxLsnOfCurrentTransaction = Long.MIN_VALUE;
    long previousTransactionLsn = Long.MIN_VALUE;
    long previousTransactionTxId = 0;
    long snapshotLsn = Long.MIN_VALUE;
    int transactions = 0;
    int belowPrevious = 0;
    for (GeneratedRecord r : records) {
      if (!(r.truth() instanceof Truth.Valid)
          || r.topic().equals(TrafficGenerator.INVOICES_TOPIC)) {
        continue;
      }
      JsonNode source = DebeziumReader.parse(r.value()).payload().path("source");
      long[] pg = pgSequence(source);
      long lsn = pg[1];
      long txId = source.path("txId").asLong();
      // (last commit lsn, lsn) never decreases in delivery order, per topic as well as over all
      // topics.
      long[] last = lastPerTopic.put(r.topic(), pg);
      if (last != null) {
        assertThat(Arrays.compare(pg, last)).as(r.toString()).isNotNegative();
      }
      long maxLsn = maxLsnPerTopic.getOrDefault(r.topic(), Long.MIN_VALUE);
      if (lsn < maxLsn) {
        interleavedPerTopic.merge(r.topic(), 1, Integer::sum);
      }
      maxLsnPerTopic.put(r.topic(), Math.max(maxLsn, lsn));
      // One transaction per txId and per (last commit lsn, lsn).
      String transaction = pg[0] + "/" + lsn;
      assertThat(transactionOfTxId.putIfAbsent(txId, transaction))
          .as(r.toString())
          .isIn(null, transaction);
      if (!source.path("snapshot").asText().equals("false")) {
        // Snapshot rows share the snapshot's LSN; streaming resumes from there.
        assertThat(transactions).isZero();
        assertThat(snapshotLsn).isIn(Long.MIN_VALUE, lsn);
        snapshotLsn = lsn;
        continue;
      }
      assertThat(lsn).as(r.toString()).isGreaterThan(snapshotLsn);
      assertThat(pg[0]).as(r.toString()).isGreaterThanOrEqualTo(snapshotLsn);
      if (pg[0] != previousCommit) {
        // A new transaction: the commit before it lies after every change delivered earlier.
        assertThat(pg[0]).as(r.toString()).isGreaterThan(previousCommit);
        maxLsnOfEarlierTransactions =
            Math.max(maxLsnOfEarlierTransactions, maxLsnOfCurrentTransaction);
        assertThat(pg[0]).as(r.toString()).isGreaterThan(maxLsnOfEarlierTransactions);
        if (previousCommit != Long.MIN_VALUE && lsn < previousTransactionLsn) {
          // Wrote before the transaction delivered just before it (which must have been the
          // previous
          // commit), so it got its transaction id first.
          belowPrevious++;
          assertThat(txId).as(r.toString()).isLessThan(previousTransactionTxId);
        }
        transactions++;
        previousCommit = pg[0];
        previousTransactionLsn = lsn;
        previousTransactionTxId = txId;
        maxLsnOfCurrentTransaction = lsn;
      } else {
        maxLsnOfCurrentTransaction = Math.max(maxLsnOfCurrentTransaction, lsn);
      }
    }
    System.out.printf(
        "%d of %d streamed PostgreSQL transactions interleaved; per topic: %s%n",
        belowPrevious, transactions, interleavedPerTopic);
    assertThat(interleavedPerTopic.getOrDefault(TrafficGenerator.PAGE_VIEWS_TOPIC, 0))
        .isGreaterThan(100);
    assertThat(interleavedPerTopic.getOrDefault(TrafficGenerator.ORDERS_TOPIC, 0))
        .isGreaterThan(10);
    assertThat(belowPrevious / (double) transactions).isBetween(0.06, 0.12);
  }

  @Test
  void withoutInterleavingLsnsFollowCommitOrder() {
    long lastLsn = Long.MIN_VALUE;
    for (GeneratedRecord r :
        new TrafficGenerator(TrafficGenerator.Config.builder(START).interleaveShare(0).build())
            .take(10_000)) {
      if (r.truth() instanceof Truth.Valid && !r.topic().equals(TrafficGenerator.INVOICES_TOPIC)) {
        long lsn = DebeziumReader.parse(r.value()).payload().path("source").path("lsn").asLong();
        assertThat(lsn).isGreaterThanOrEqualTo(lastLsn);
        lastLsn = lsn;
      }
    }
  }

  @Test
  void theJobsDecoderAgreesWithTheTruthAndOrdersEveryDedupeScope() {
    CdcDecoder decoder = new CdcDecoder(ExportSpec.load(Path.of("../deploy/export-spec.yaml")));
    Map<String, String> eventIdOfIdentity = new HashMap<>();
    Map<String, List<Long>> lastPosition = new HashMap<>();
    Map<String, Set<String>> eventIdsAtLastPosition = new HashMap<>();
    Map<String, Integer> outcomes = new TreeMap<>();
    int ties = 0;
    for (int i = 0; i < records.size(); i++) {
      GeneratedRecord r = records.get(i);
      DecodeResult result =
          decoder.decode(new RawRecord(r.topic(), 0, i, r.timestamp(), r.key(), r.value()));
      String where = r.toString();
      Truth truth = r.truth();
      if (truth instanceof Truth.Valid) {
        Truth.Valid v = (Truth.Valid) truth;
        assertThat(result).as(where).isInstanceOf(DecodeResult.Decoded.class);
        ChangeEvent e = ((DecodeResult.Decoded) result).event();
        boolean keyOnlyDelete =
            v.op().equals("d")
                && !DebeziumReader.parse(r.value())
                    .payload()
                    .path("before")
                    .hasNonNull("tenant_id");
        assertThat(e.getTenantId()).as(where).isEqualTo(keyOnlyDelete ? null : v.tenantId());
        assertThat(e.getSourceTable()).as(where).isEqualTo(v.table());
        assertThat(e.getOp()).as(where).isEqualTo(v.op());
        assertThat(e.getEventTime()).as(where).isEqualTo(v.eventTimeMillis());
        assertThat(e.getSourceTs()).as(where).isEqualTo(v.sourceTsMillis());
        assertThat(e.getAfter()).as(where).isEqualTo(v.after());
        if (e.getBefore() != null && !keyOnlyDelete) {
          assertThat(e.getBefore()).as(where).isEqualTo(v.before());
        }
        eventIdOfIdentity.put(v.identity(), e.getEventId());
        String scope =
            v.table().equals("page_views")
                ? r.topic() + "|" + v.tenantId()
                : v.table() + "|" + e.getRowKey();
        List<Long> position = e.getPosition();
        List<Long> last = lastPosition.put(scope, position);
        int order = last == null ? 1 : comparePositions(position, last);
        assertThat(order)
            .as("position %s after %s in scope %s: %s", position, last, scope, where)
            .isNotNegative();
        if (order > 0) {
          eventIdsAtLastPosition.put(scope, new HashSet<>(Set.of(e.getEventId())));
        } else {
          ties++;
          assertThat(eventIdsAtLastPosition.get(scope).add(e.getEventId()))
              .as(
                  "event id %s repeated at position %s in scope %s: %s",
                  e.getEventId(), position, scope, where)
              .isTrue();
        }
        outcomes.merge("valid " + v.table() + "/" + v.op(), 1, Integer::sum);
      } else if (truth instanceof Truth.Duplicate) {
        assertThat(result).as(where).isInstanceOf(DecodeResult.Decoded.class);
        assertThat(((DecodeResult.Decoded) result).event().getEventId())
            .as(where)
            .isEqualTo(eventIdOfIdentity.get(((Truth.Duplicate) truth).identity()));
        outcomes.merge("duplicate", 1, Integer::sum);
      } else if (truth instanceof Truth.Malformed) {
        Truth.Malformed m = (Truth.Malformed) truth;
        assertThat(result).as(where).isInstanceOf(DecodeResult.Rejected.class);
        DecodeResult.Rejected rejected = (DecodeResult.Rejected) result;
        assertThat(rejected.code()).as("%s: %s", rejected.reason(), where).isEqualTo(m.expected());
        assertThat(rejected.tenantId())
            .as("%s: %s", rejected.reason(), where)
            .isEqualTo(m.tenantIdOrNull());
        outcomes.merge("malformed " + m.expected(), 1, Integer::sum);
      } else {
        assertThat(truth).isInstanceOf(Truth.Tombstone.class);
        assertThat(result).as(where).isInstanceOf(DecodeResult.Tombstone.class);
        outcomes.merge("tombstone", 1, Integer::sum);
      }
    }
    System.out.println(
        "decoder agrees with the truth of "
            + records.size()
            + " records: "
            + outcomes
            + "; "
            + ties
            + " positions shared within a scope");
    assertThat(ties).isGreaterThan(0);
  }

  private static int comparePositions(List<Long> a, List<Long> b) {
    for (int i = 0; i < Math.min(a.size(), b.size()); i++) {
      int c = Long.compare(a.get(i), b.get(i));
      if (c != 0) {
        return c;
      }
    }
    return Integer.compare(a.size(), b.size());
  }

  /** A PostgreSQL source's {@code sequence} as {last commit lsn (0 for a snapshot row), lsn}. */
  private static long[] pgSequence(JsonNode source) {
    JsonNode sequence =
        DebeziumReader.tree(source.path("sequence").asText().getBytes(StandardCharsets.UTF_8));
    assertThat(sequence.size()).isEqualTo(2);
    assertThat(sequence.get(0).isNull())
        .isEqualTo(!source.path("snapshot").asText().equals("false"));
    long lsn = Long.parseLong(sequence.get(1).asText());
    assertThat(lsn).isEqualTo(source.path("lsn").asLong());
    return new long[] {
      sequence.get(0).isNull() ? 0 : Long.parseLong(sequence.get(0).asText()), lsn
    };
  }

  private static List<String> fieldNames(JsonNode node) {
    List<String> names = new ArrayList<>();
    node.fieldNames().forEachRemaining(names::add);
    return names;
  }

  /**
   * Checks a payload value against its Kafka Connect schema, as JsonConverter would on reading it.
   */
  private static void assertConforms(JsonNode schema, JsonNode value, String where) {
    if (value == null || value.isNull() || value.isMissingNode()) {
      assertThat(schema.path("optional").asBoolean())
          .as("null for required %s in %s", schema, where)
          .isTrue();
      return;
    }
    switch (schema.path("type").asText()) {
      case "struct":
        assertThat(value.isObject()).as(where).isTrue();
        Set<String> declared = new HashSet<>();
        for (JsonNode field : schema.path("fields")) {
          declared.add(field.path("field").asText());
          assertConforms(field, value.get(field.path("field").asText()), where);
        }
        assertThat(declared).as(where).containsAll(fieldNames(value));
        break;
      case "int32":
      case "int64":
        assertThat(value.isIntegralNumber()).as(where).isTrue();
        break;
      case "string":
        assertThat(value.isTextual()).as(where).isTrue();
        break;
      case "bytes":
        assertThat(Base64.getDecoder().decode(value.asText())).as(where).isNotEmpty();
        break;
      default:
        throw new AssertionError("unexpected schema type in " + schema);
    }
  }
}
