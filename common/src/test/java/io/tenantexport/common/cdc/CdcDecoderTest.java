package io.tenantexport.common.cdc;

import static io.tenantexport.common.cdc.Fixtures.INVOICES_TOPIC;
import static io.tenantexport.common.cdc.Fixtures.JSON;
import static io.tenantexport.common.cdc.Fixtures.KAFKA_TS;
import static io.tenantexport.common.cdc.Fixtures.ORDERS_TOPIC;
import static io.tenantexport.common.cdc.Fixtures.PAGE_VIEWS_TOPIC;
import static io.tenantexport.common.cdc.Fixtures.SPEC;
import static io.tenantexport.common.cdc.Fixtures.bytes;
import static io.tenantexport.common.cdc.Fixtures.field;
import static io.tenantexport.common.cdc.Fixtures.json;
import static io.tenantexport.common.cdc.Fixtures.obj;
import static io.tenantexport.common.cdc.Fixtures.payload;
import static io.tenantexport.common.cdc.Fixtures.record;
import static io.tenantexport.common.cdc.Fixtures.utf8;
import static io.tenantexport.common.cdc.Fixtures.withoutRawBytes;
import static io.tenantexport.common.cdc.Fixtures.wrap;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.entry;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.tenantexport.common.tenant.TenantId;
import io.tenantexport.schemas.ChangeEvent;
import io.tenantexport.schemas.Disposition;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.ObjectInputStream;
import java.io.ObjectOutputStream;
import java.math.BigDecimal;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;
import java.util.stream.Stream;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.params.provider.ValueSource;

class CdcDecoderTest {
  private static final String ORIGIN = ORDERS_TOPIC + "/0@17";
  private static final String EVENT_ID = "[0-9a-f]{32}";

  private final CdcDecoder decoder = new CdcDecoder(SPEC);

  private ChangeEvent decoded(RawRecord r) {
    DecodeResult result = decoder.decode(r);
    assertThat(result).as("decode result").isInstanceOf(DecodeResult.Decoded.class);
    return ((DecodeResult.Decoded) result).event();
  }

  private DecodeResult.Rejected rejected(RawRecord r, QuarantineReason code) {
    DecodeResult result = decoder.decode(r);
    assertThat(result).as("decode result").isInstanceOf(DecodeResult.Rejected.class);
    DecodeResult.Rejected rejected = (DecodeResult.Rejected) result;
    assertThat(rejected.code()).as("reason code; reason: %s", rejected.reason()).isEqualTo(code);
    return rejected;
  }

  /** pg-orders-create.json with Debezium's primary-key key (no tenant in it), at orders/0@17. */
  private static RawRecord ordersCreate(Consumer<ObjectNode> change) {
    ObjectNode value = json("pg-orders-create.json");
    change.accept(value);
    return record(ORDERS_TOPIC, 17, json("pg-orders-key.json"), value);
  }

  /** pg-page-views-snapshot.json with the plain key "acme", at page_views/0@5. */
  private static RawRecord pageView(Consumer<ObjectNode> change) {
    ObjectNode value = json("pg-page-views-snapshot.json");
    change.accept(value);
    return record(PAGE_VIEWS_TOPIC, 5, "acme", value);
  }

  @Nested
  class PostgresChanges {
    @Test
    void insertWithSchemaWrapperBecomesACanonicalProjectedChangeEvent() {
      RawRecord r = ordersCreate(v -> {});

      ChangeEvent e = decoded(r);

      assertThat(e.getTenantId()).isEqualTo("acme");
      assertThat(e.getSourceTable()).isEqualTo("orders");
      assertThat(e.getOp()).isEqualTo("c");
      assertThat(e.getDisposition()).isEqualTo(Disposition.APPLY);
      assertThat(e.getBefore()).isNull();
      assertThat(e.getAfter())
          .containsExactly(
              entry("tenant_id", "acme"),
              entry("id", "42"),
              entry("status", "paid"),
              entry("amount", "12.50"),
              entry("updated_at", "2025-01-01T10:00:00.123456Z"));
      assertThat(e.getRowKey()).isEqualTo("[\"42\"]");
      assertThat(e.getScopeKey()).isEqualTo("orders|[\"42\"]");
      assertThat(e.getEventTime()).as("updated_at floored to the ms").isEqualTo(1735725600123L);
      assertThat(e.getSourceTs()).isEqualTo(1735725600200L);
      assertThat(e.getPosition()).containsExactly(24023008L, 24023128L, 1L);
      assertThat(e.getPositionKind()).isEqualTo("pg");
      assertThat(e.getEventId()).matches(EVENT_ID);
      assertThat(e.getOriginTopic()).isEqualTo(ORDERS_TOPIC);
      assertThat(e.getOriginPartition()).isZero();
      assertThat(e.getOriginOffset()).isEqualTo(17L);
      assertThat(e.getRawKey()).isEqualTo(ByteBuffer.wrap(r.key()));
      assertThat(e.getRawValue()).isEqualTo(ByteBuffer.wrap(r.value()));
      assertThat(e.getQuarantineReason()).isNull();
    }

    @Test
    void sameChangeWithoutSchemaWrapperDecodesByTheSpecToTheSameEventAndId() {
      ChangeEvent wrapped = decoded(ordersCreate(v -> {}));
      ObjectNode bare = payload(json("pg-orders-create.json"));

      ChangeEvent e = decoded(record(ORDERS_TOPIC, 17, json("pg-orders-key.json"), bare));

      assertThat(e.getAfter()).isEqualTo(wrapped.getAfter());
      assertThat(e.getEventId()).isEqualTo(wrapped.getEventId());
      assertThat(e.getEventTime()).isEqualTo(wrapped.getEventTime());
    }

    @Test
    void updateWithoutBeforeImageUnderDefaultReplicaIdentityTakesTenantAndTimeFromAfter() {
      ChangeEvent e =
          decoded(
              record(
                  ORDERS_TOPIC,
                  18,
                  json("pg-orders-key.json"),
                  json("pg-orders-update-no-before.json")));

      assertThat(e.getOp()).isEqualTo("u");
      assertThat(e.getTenantId()).isEqualTo("acme");
      assertThat(e.getBefore()).isNull();
      assertThat(e.getAfter()).containsEntry("status", "shipped").containsEntry("amount", "12.50");
      assertThat(e.getEventTime()).isEqualTo(1735729200000L);
      assertThat(e.getPosition())
          .as("no transaction block: order 0")
          .containsExactly(24023128L, 24029400L, 0L);
      assertThat(e.getRowKey()).isEqualTo("[\"42\"]");
    }

    @Test
    void deleteWithOnlyKeyColumnsAndAKeyWithoutTenantIsKeptWithNullTenantForRowStateAttribution() {
      RawRecord r =
          record(
              ORDERS_TOPIC, 19, json("pg-orders-key.json"), json("pg-orders-delete-key-only.json"));

      ChangeEvent e = decoded(r);

      assertThat(e.getTenantId()).isNull();
      assertThat(e.getOp()).isEqualTo("d");
      assertThat(e.getBefore()).containsExactly(entry("id", "42"));
      assertThat(e.getAfter()).isNull();
      assertThat(e.getRowKey()).isEqualTo("[\"42\"]");
      assertThat(e.getScopeKey()).isEqualTo("orders|[\"42\"]");
      assertThat(e.getEventTime()).as("deletes take source.ts_ms").isEqualTo(1735732800010L);
      assertThat(e.getRawKey())
          .as("kept: may still be quarantined downstream")
          .isEqualTo(ByteBuffer.wrap(r.key()));
      assertThat(e.getRawValue()).isEqualTo(ByteBuffer.wrap(r.value()));
    }

    @Test
    void deleteWhoseBeforeImageCarriesNullNonKeyColumnsIsKeptWithNullTenant() {
      ObjectNode value = json("pg-orders-delete-key-only.json");
      obj(value, "/before")
          .putNull("tenant_id")
          .putNull("status")
          .putNull("amount")
          .putNull("updated_at");

      ChangeEvent e = decoded(record(ORDERS_TOPIC, 19, json("pg-orders-key.json"), value));

      assertThat(e.getTenantId()).isNull();
      assertThat(e.getBefore())
          .containsEntry("id", "42")
          .containsEntry("tenant_id", null)
          .hasSize(5);
    }

    @Test
    void deleteWhoseBeforeImageCarriesDebeziumsEmptyStringFallbackForANotNullTenantIsRefused() {
      // Debezium fills NOT NULL columns absent from a default-identity delete with "" (or the
      // column
      // default); an empty tenant id is invalid, so such tables need tenant_id nullable or REPLICA
      // IDENTITY FULL.
      ObjectNode value = json("pg-orders-delete-key-only.json");
      obj(value, "/before").put("tenant_id", "");

      DecodeResult.Rejected r =
          rejected(
              record(ORDERS_TOPIC, 19, json("pg-orders-key.json"), value),
              QuarantineReason.INVALID_TENANT_ID);

      assertThat(r.reason()).contains("invalid tenant id \"\"", "before image", "orders");
    }

    @Test
    void snapshotReadOfAnAppendOnlyTableIsDecodedWithoutRowKeyOrRawBytes() {
      ChangeEvent e = decoded(pageView(v -> {}));

      assertThat(e.getOp()).isEqualTo("r");
      assertThat(e.getTenantId()).isEqualTo("acme");
      assertThat(e.getAfter())
          .containsExactly(
              entry("tenant_id", "acme"),
              entry("id", "1001"),
              entry("viewed_at", "2025-01-01T09:50:00Z"),
              entry("page", "/pricing"),
              entry("duration_ms", "5400"));
      assertThat(e.getRowKey()).isNull();
      assertThat(e.getScopeKey()).isEqualTo("acme|page_views");
      assertThat(e.getPosition()).containsExactly(0L, 24022800L, 0L);
      assertThat(e.getRawKey()).isNull();
      assertThat(e.getRawValue()).isNull();
    }

    @Test
    void snapshotRowsSharingOneLsnGetDistinctEventIds() {
      List<ChangeEvent> rows =
          Stream.of(1001, 1002, 1003)
              .map(id -> decoded(pageView(v -> obj(v, "/after").put("id", id))))
              .toList();

      assertThat(rows)
          .extracting(ChangeEvent::getPosition)
          .containsOnly(List.of(0L, 24022800L, 0L));
      assertThat(rows).extracting(ChangeEvent::getEventId).doesNotHaveDuplicates();
    }

    @Test
    void twoInsertsOfOneTransactionSharingAnLsnGetDistinctEventIds() {
      Consumer<ObjectNode> noTxBlock = v -> obj(v, "/payload").putNull("transaction");
      ChangeEvent first = decoded(ordersCreate(noTxBlock));
      ChangeEvent second =
          decoded(ordersCreate(noTxBlock.andThen(v -> obj(v, "/payload/after").put("id", 43))));

      assertThat(second.getPosition()).isEqualTo(first.getPosition());
      assertThat(second.getEventId()).isNotEqualTo(first.getEventId());
    }

    @Test
    void twoUpdatesOfOneRowInOneTransactionSharingAnLsnGetDistinctEventIds() {
      ObjectNode paid = json("pg-orders-update-no-before.json");
      obj(paid, "/after").put("status", "paid");
      ChangeEvent first = decoded(record(ORDERS_TOPIC, 20, "acme", paid));
      ChangeEvent second =
          decoded(record(ORDERS_TOPIC, 21, "acme", json("pg-orders-update-no-before.json")));

      assertThat(second.getPosition()).isEqualTo(first.getPosition());
      assertThat(second.getRowKey()).isEqualTo(first.getRowKey());
      assertThat(second.getEventId()).isNotEqualTo(first.getEventId());
    }

    @Test
    void transactionTotalOrderIsTheThirdPositionComponent() {
      ChangeEvent e =
          decoded(ordersCreate(v -> obj(v, "/payload/transaction").put("total_order", 7)));

      assertThat(e.getPosition()).containsExactly(24023008L, 24023128L, 7L);
    }

    @Test
    void sameChangeReSentAtAnotherOffsetAndPartitionKeepsItsEventId() {
      ObjectNode value = json("pg-orders-create.json");
      ChangeEvent original =
          decoded(record(ORDERS_TOPIC, 0, 17, bytes(json("pg-orders-key.json")), bytes(value)));
      ChangeEvent replay =
          decoded(record(ORDERS_TOPIC, 3, 99_000, bytes(json("pg-orders-key.json")), bytes(value)));

      assertThat(replay.getEventId()).isEqualTo(original.getEventId());
      assertThat(CdcDecoder.digest64(replay.getEventId()))
          .isEqualTo(CdcDecoder.digest64(original.getEventId()));
      assertThat(replay.getOriginOffset()).isEqualTo(99_000L);
    }

    @Test
    void jsonKeyNamingTheTenantAttributesAndCompositeKeyKeepsSpecKeyOrder() {
      ArrayNode rowFields = JSON.createArrayNode();
      field(rowFields, "id", "int64", null);
      field(rowFields, "tenant_id", "string", null);
      field(rowFields, "shipped_at", "string", "io.debezium.time.ZonedTimestamp");
      ObjectNode value = payload(json("pg-orders-update-no-before.json"));
      obj(value, "/source").put("table", "shipments");
      value.put("op", "c");
      value.set(
          "after",
          JSON.createObjectNode()
              .put("id", 5)
              .put("tenant_id", "acme")
              .put("shipped_at", "2025-03-01T08:30:00.999999+01:00"));
      ObjectNode key = JSON.createObjectNode();
      key.set("schema", JSON.createObjectNode().put("type", "struct"));
      key.set("payload", JSON.createObjectNode().put("tenant_id", "acme").put("id", 5));

      ChangeEvent e = decoded(record("cdc.public.shipments", 1, key, wrap(value, rowFields)));

      assertThat(e.getTenantId()).isEqualTo("acme");
      assertThat(e.getRowKey()).isEqualTo("[\"acme\",\"5\"]");
      assertThat(e.getAfter()).containsEntry("shipped_at", "2025-03-01T07:30:00.999999Z");
      assertThat(e.getEventTime())
          .as("zoned timestamp floored to the ms")
          .isEqualTo(1740814200999L);
    }
  }

  @Nested
  class MySqlChanges {
    private RawRecord invoice(long offset, Consumer<ObjectNode> change) {
      ObjectNode value = json("mysql-invoices-create.json");
      change.accept(value);
      return record(INVOICES_TOPIC, offset, "acme", value);
    }

    @Test
    void insertWithSchemaDecodesDecimalTimestampDateAndJsonColumns() {
      ChangeEvent e = decoded(invoice(3, v -> {}));

      assertThat(e.getAfter())
          .containsExactly(
              entry("tenant_id", "acme"),
              entry("invoice_id", "9001"),
              entry("currency", "EUR"),
              entry("total", "1234.5000"),
              entry("issued_at", "2025-01-01T10:00:00Z"),
              entry("due_on", "2025-01-31"),
              entry("metadata", "{\"po\": \"PO-77\", \"lines\": [1, 2]}"));
      assertThat(e.getPositionKind()).isEqualTo("mysql");
      assertThat(e.getPosition()).containsExactly(3L, 154L, 0L);
      assertThat(e.getEventTime()).isEqualTo(1735725600000L);
      assertThat(e.getSourceTs()).isEqualTo(1735725601000L);
      assertThat(e.getRowKey()).isEqualTo("[\"9001\"]");
    }

    @Test
    void rowsOfOneMultiRowStatementShareThePositionPrefixButNotTheEventId() {
      List<ChangeEvent> rows =
          Stream.of(0, 1, 2)
              .map(
                  row ->
                      decoded(
                          invoice(
                              10 + row,
                              v -> {
                                obj(v, "/payload/source").put("row", row);
                                obj(v, "/payload/after").put("invoice_id", 9001 + row);
                              })))
              .toList();

      assertThat(rows)
          .extracting(e -> e.getPosition().subList(0, 2))
          .containsOnly(List.of(3L, 154L));
      assertThat(rows).extracting(e -> e.getPosition().get(2)).containsExactly(0L, 1L, 2L);
      assertThat(rows).extracting(ChangeEvent::getEventId).doesNotHaveDuplicates();
    }

    @Test
    void positionWithoutRowDefaultsToRowZero() {
      ChangeEvent e = decoded(invoice(3, v -> obj(v, "/payload/source").remove("row")));

      assertThat(e.getPosition()).containsExactly(3L, 154L, 0L);
    }

    @Test
    void binlogFileWithoutNumericSuffixIsAnInvalidEnvelope() {
      DecodeResult.Rejected r =
          rejected(
              invoice(3, v -> obj(v, "/payload/source").put("file", "mysql-bin")),
              QuarantineReason.INVALID_ENVELOPE);

      assertThat(r.reason()).contains("source.file", "invoices");
      assertThat(r.tenantId()).isEqualTo("acme");
    }
  }

  @Nested
  class KafkaPositions {
    @Test
    void envelopeWithoutDatabasePositionUsesPartitionAndOffsetAndScopesAppendOnlyByPartition() {
      ObjectNode value = json("pg-page-views-snapshot.json");
      obj(value, "/source").remove("lsn");

      ChangeEvent e = decoded(record(PAGE_VIEWS_TOPIC, 2, 77, utf8("acme"), bytes(value)));

      assertThat(e.getPositionKind()).isEqualTo("kafka");
      assertThat(e.getPosition()).containsExactly(2L, 77L);
      assertThat(e.getScopeKey()).isEqualTo("acme|page_views|" + PAGE_VIEWS_TOPIC + "-2");
    }

    @Test
    void kafkaPositionedChangeReSentAtAnotherOffsetGetsAnotherEventId() {
      ObjectNode value = json("pg-page-views-snapshot.json");
      obj(value, "/source").remove("lsn");

      ChangeEvent a = decoded(record(PAGE_VIEWS_TOPIC, 0, 1, utf8("acme"), bytes(value)));
      ChangeEvent b = decoded(record(PAGE_VIEWS_TOPIC, 0, 2, utf8("acme"), bytes(value)));

      assertThat(a.getEventId()).isNotEqualTo(b.getEventId());
    }
  }

  @Nested
  class EventTime {
    @Test
    void nullEventTimeColumnFallsBackToSourceTimestamp() {
      ChangeEvent e = decoded(pageView(v -> obj(v, "/after").putNull("viewed_at")));

      assertThat(e.getEventTime()).isEqualTo(1735725900000L);
    }

    @Test
    void absentEventTimeColumnAndSourceTimestampFallBackToPayloadTimestamp() {
      ChangeEvent e =
          decoded(
              pageView(
                  v -> {
                    obj(v, "/after").remove("viewed_at");
                    obj(v, "/source").remove("ts_ms");
                  }));

      assertThat(e.getEventTime()).isEqualTo(1735725900123L);
      assertThat(e.getSourceTs()).as("no source.ts_ms: the Kafka timestamp").isEqualTo(KAFKA_TS);
    }

    @Test
    void withoutAnyTimestampInTheEnvelopeEventTimeIsTheKafkaTimestamp() {
      ChangeEvent e =
          decoded(
              pageView(
                  v -> {
                    obj(v, "/after").remove("viewed_at");
                    obj(v, "/source").remove("ts_ms");
                    v.remove("ts_ms");
                  }));

      assertThat(e.getEventTime()).isEqualTo(KAFKA_TS);
    }

    @Test
    void dateEventTimeColumnIsTheStartOfItsDayInUtc() {
      ObjectNode value = json("pg-page-views-snapshot.json");
      obj(value, "/source").put("table", "holidays");
      value.set(
          "after",
          JSON.createObjectNode().put("tenant_id", "acme").put("day", 20119).put("label", "x"));

      ChangeEvent e = decoded(record("cdc.public.holidays", 1, "acme", value));

      assertThat(e.getAfter()).containsEntry("day", "2025-01-31");
      assertThat(e.getEventTime()).isEqualTo(20119L * 86_400_000L);
    }

    @Test
    void eventTimeColumnThatIsNotATimestampByItsSchemaIsUndecodable() {
      ArrayNode rowFields = JSON.createArrayNode();
      field(rowFields, "viewed_at", "string", null);
      ObjectNode value = json("pg-page-views-snapshot.json");
      obj(value, "/after").put("viewed_at", "yesterday");

      DecodeResult.Rejected r =
          rejected(
              record(PAGE_VIEWS_TOPIC, 1, "acme", wrap(value, rowFields)),
              QuarantineReason.UNDECODABLE_COLUMN);

      assertThat(r.reason()).contains("viewed_at", "page_views").doesNotContain("yesterday");
      assertThat(r.tenantId()).isEqualTo("acme");
      assertThat(r.eventTime()).as("best known: source.ts_ms").isEqualTo(1735725900000L);
    }
  }

  @Nested
  class ColumnTypes {
    /** One reading row: column, Connect type, Connect name, JSON value, canonical rendering. */
    private static final Object[][] READING = {
      {"tenant_id", "string", null, "acme", "acme"},
      {"id", "int64", null, 7, "7"},
      {
        "taken_at",
        "int64",
        "io.debezium.time.MicroTimestamp",
        1735725600123456L,
        "2025-01-01T10:00:00.123456Z"
      },
      {"c_text", "string", null, "hello", "hello"},
      {"c_double", "float64", null, 0.1, "0.1"},
      {"c_bool", "boolean", null, true, "true"},
      {"c_date", "int32", "io.debezium.time.Date", 20119, "2025-01-31"},
      {"c_time_ms", "int32", "io.debezium.time.Time", 37230500, "10:20:30.500"},
      {"c_time_us", "int64", "io.debezium.time.MicroTime", 37230123456L, "10:20:30.123456"},
      {"c_time_ns", "int64", "io.debezium.time.NanoTime", 37230123456789L, "10:20:30.123456789"},
      {"c_ts_ms", "int64", "io.debezium.time.Timestamp", 1735725600000L, "2025-01-01T10:00:00Z"},
      {
        "c_ts_ns",
        "int64",
        "io.debezium.time.NanoTimestamp",
        1735725600123456789L,
        "2025-01-01T10:00:00.123456789Z"
      },
      {
        "c_zoned",
        "string",
        "io.debezium.time.ZonedTimestamp",
        "2025-01-01T12:00:00.5+02:00",
        "2025-01-01T10:00:00.500Z"
      },
      {"c_ztime", "string", "io.debezium.time.ZonedTime", "10:15:30Z", "10:15:30Z"},
      {"c_year", "int32", "io.debezium.time.Year", 2024, "2024"},
      {"c_json", "string", "io.debezium.data.Json", "{\"a\": [1, 2.50]}", "{\"a\": [1, 2.50]}"},
    };

    private ObjectNode reading(boolean withSchema) {
      ObjectNode value = json("pg-page-views-snapshot.json");
      obj(value, "/source").put("table", "readings");
      ObjectNode after = value.putObject("after");
      ArrayNode rowFields = JSON.createArrayNode();
      for (Object[] c : READING) {
        after.set((String) c[0], JSON.valueToTree(c[3]));
        field(rowFields, (String) c[0], (String) c[1], (String) c[2]);
      }
      after.put("c_dec", "nA==");
      after.putObject("c_vdec").put("scale", 4).put("value", "+x4=");
      field(rowFields, "c_dec", "bytes", "org.apache.kafka.connect.data.Decimal")
          .putObject("parameters")
          .put("scale", "3");
      field(rowFields, "c_vdec", "struct", "io.debezium.data.VariableScaleDecimal");
      return withSchema ? wrap(value, rowFields) : value;
    }

    private Map<String, String> expectedReading() {
      Map<String, String> m = new HashMap<>();
      for (Object[] c : READING) {
        m.put((String) c[0], (String) c[4]);
      }
      m.put("c_dec", "-0.100");
      m.put("c_vdec", "-0.1250");
      return m;
    }

    @Test
    void everyDebeziumTypeIsRenderedCanonicallyByItsEnvelopeSchema() {
      ChangeEvent e = decoded(record("cdc.public.readings", 1, "acme", reading(true)));

      assertThat(e.getAfter()).containsExactlyInAnyOrderEntriesOf(expectedReading());
      assertThat(e.getEventTime()).isEqualTo(1735725600123L);
    }

    @Test
    void withoutSchemaTheSpecDeclarationsGiveTheSameCanonicalValues() {
      ChangeEvent e = decoded(record("cdc.public.readings", 1, "acme", reading(false)));

      assertThat(e.getAfter()).containsExactlyInAnyOrderEntriesOf(expectedReading());
    }

    @Test
    void negativeDecimalsKeepSignAndScale() {
      ChangeEvent bySchema =
          decoded(
              ordersCreate(
                  v -> {
                    obj(v, "/payload/after").put("amount", "nA==");
                    obj(v, "/schema/fields/1/fields/3/parameters").put("scale", "4");
                  }));
      ObjectNode bare = payload(json("pg-orders-create.json"));
      obj(bare, "/after").put("amount", "+x4=");
      ChangeEvent bySpec = decoded(record(ORDERS_TOPIC, 17, json("pg-orders-key.json"), bare));

      assertThat(bySchema.getAfter()).containsEntry("amount", "-0.0100");
      assertThat(bySpec.getAfter()).containsEntry("amount", "-12.50");
    }

    @ParameterizedTest(name = "{0} -> {1}")
    @MethodSource("doubleHandlingDecimals")
    void schemalessDecimalSentAsNumberKeepsTheExactNumberText(String number, String canonical) {
      ObjectNode bare = payload(json("pg-orders-create.json"));
      obj(bare, "/after").put("amount", "AMOUNT");
      // Spliced as text so that the number reaches the decoder exactly as the connector wrote it.
      String text = new String(bytes(bare), StandardCharsets.UTF_8).replace("\"AMOUNT\"", number);

      ChangeEvent e =
          decoded(record(ORDERS_TOPIC, 0, 17, bytes(json("pg-orders-key.json")), utf8(text)));

      assertThat(e.getAfter()).containsEntry("amount", canonical);
    }

    static Stream<Arguments> doubleHandlingDecimals() {
      return Stream.of(
          Arguments.of("12.5", "12.5"),
          Arguments.of("12.50", "12.50"),
          Arguments.of("1.0E-4", "0.00010"),
          Arguments.of("-3", "-3"),
          Arguments.of("123456789012345678901234567890.01", "123456789012345678901234567890.01"));
    }

    @Test
    void jsonColumnSentAsAnObjectIsWrittenBackAsCompactJson() {
      ObjectNode value = payload(json("mysql-invoices-create.json"));
      obj(value, "/after")
          .putObject("metadata")
          .put("po", "PO-77")
          .putArray("lines")
          .add(1)
          .add(new BigDecimal("2.50"));

      ChangeEvent e = decoded(record(INVOICES_TOPIC, 3, "acme", value));

      assertThat(e.getAfter()).containsEntry("metadata", "{\"po\":\"PO-77\",\"lines\":[1,2.50]}");
    }

    @Test
    void badBase64DecimalIsAnUndecodableColumnNamingTableAndColumnAttributedToTheRowsTenant() {
      DecodeResult.Rejected r =
          rejected(
              ordersCreate(v -> obj(v, "/payload/after").put("amount", "12.50!")),
              QuarantineReason.UNDECODABLE_COLUMN);

      assertThat(r.reason())
          .contains("column amount", "table orders", ORIGIN, "base64")
          .doesNotContain("12.50!");
      assertThat(r.tenantId()).isEqualTo("acme");
      assertThat(r.eventTime()).isEqualTo(1735725600200L);
    }

    @Test
    void jsonNullIsANullValueAndAnAbsentColumnIsAbsent() {
      ChangeEvent e =
          decoded(
              ordersCreate(
                  v -> {
                    obj(v, "/payload/after").putNull("status");
                    obj(v, "/payload/after").remove("amount");
                  }));

      assertThat(e.getAfter()).containsEntry("status", null).doesNotContainKey("amount");
    }
  }

  @Nested
  class Projection {
    @Test
    void undeclaredColumnsNeverReachTheEvent() {
      ChangeEvent order = decoded(ordersCreate(v -> {}));
      ChangeEvent view = decoded(pageView(v -> {}));
      ChangeEvent invoice =
          decoded(record(INVOICES_TOPIC, 1, "acme", json("mysql-invoices-create.json")));

      assertThat(order.getAfter()).doesNotContainKey("customer_email");
      assertThat(view.getAfter()).doesNotContainKeys("user_email", "ip");
      assertThat(invoice.getAfter()).doesNotContainKey("billing_address");
      assertThat(withoutRawBytes(order)).doesNotContain("email", "jane.doe");
      assertThat(view.toString()).doesNotContain("email", "jane.doe", "203.0.113.7");
      assertThat(withoutRawBytes(invoice)).doesNotContain("billing_address", "Springfield");
    }

    @Test
    void undeclaredColumnsDoNotChangeTheEventId() {
      ChangeEvent a = decoded(ordersCreate(v -> {}));
      ChangeEvent b =
          decoded(
              ordersCreate(
                  v -> obj(v, "/payload/after").put("customer_email", "other@example.com")));

      assertThat(b.getEventId()).isEqualTo(a.getEventId());
    }
  }

  @Nested
  class Refusals {
    @Test
    void nullValueIsATombstone() {
      assertThat(decoder.decode(record(ORDERS_TOPIC, 0, 17, utf8("acme"), null)))
          .isEqualTo(new DecodeResult.Tombstone());
      assertThat(decoder.decode(record(ORDERS_TOPIC, 0, 17, utf8("../other"), null)))
          .isInstanceOf(DecodeResult.Tombstone.class);
    }

    @ParameterizedTest
    @ValueSource(
        strings = {
          "{\"before\":null,\"after\":{\"id\":4",
          "not json at all",
          "{\"op\":\"c\",\"op\":\"u\",\"source\":{\"table\":\"orders\"}}",
          "{\"op\":\"c\"} {\"op\":\"d\"}",
          "",
          "   ",
          "{'op':'c'}",
          "{\"op\":\"c\",\"ts_ms\":1e-2147483648}"
        })
    void valueThatIsNotJsonIsUndecodableAndAttributedToTheKeysTenant(String value) {
      DecodeResult.Rejected r =
          rejected(
              record(ORDERS_TOPIC, 0, 17, utf8("acme"), utf8(value)),
              QuarantineReason.UNDECODABLE_JSON);

      assertThat(r.reason()).contains(ORIGIN);
      assertThat(r.tenantId()).isEqualTo("acme");
      assertThat(r.eventTime()).isEqualTo(KAFKA_TS);
    }

    @Test
    void valueThatIsNotUtf8IsUndecodable() {
      rejected(
          record(
              ORDERS_TOPIC,
              0,
              17,
              utf8("acme"),
              new byte[] {'{', '"', (byte) 0xC3, 0x28, '"', ':', '1', '}'}),
          QuarantineReason.UNDECODABLE_JSON);
    }

    @ParameterizedTest
    @ValueSource(
        strings = {
          "[1,2]",
          "\"text\"",
          "42",
          "null",
          "{}",
          "{\"schema\":null,\"payload\":\"x\"}",
          "{\"schema\":null,\"payload\":null}",
          "{\"op\":\"c\",\"source\":\"orders\"}",
          "{\"op\":\"c\",\"source\":{}}",
          "{\"op\":5,\"source\":{\"table\":\"orders\"}}",
          "{\"source\":{\"table\":\"orders\"},\"after\":{}}"
        })
    void jsonThatIsNotAChangeEnvelopeIsAnInvalidEnvelope(String value) {
      DecodeResult.Rejected r =
          rejected(
              record(ORDERS_TOPIC, 0, 17, utf8("acme"), utf8(value)),
              QuarantineReason.INVALID_ENVELOPE);

      assertThat(r.reason()).contains(ORIGIN);
    }

    @Test
    void changeWithoutTheImageItsOpRequiresIsAnInvalidEnvelope() {
      DecodeResult.Rejected r =
          rejected(
              ordersCreate(v -> obj(v, "/payload").putNull("after")),
              QuarantineReason.INVALID_ENVELOPE);

      assertThat(r.reason()).contains("op c", "after image", "orders");
    }

    @Test
    void imageThatIsNotAnObjectIsAnInvalidEnvelope() {
      rejected(
          ordersCreate(v -> obj(v, "/payload").put("before", "x")),
          QuarantineReason.INVALID_ENVELOPE);
    }

    @Test
    void nonIntegerPositionOrTimestampIsAnInvalidEnvelope() {
      DecodeResult.Rejected lsn =
          rejected(
              ordersCreate(v -> obj(v, "/payload/source").put("lsn", "0/16B3748")),
              QuarantineReason.INVALID_ENVELOPE);
      DecodeResult.Rejected ts =
          rejected(
              ordersCreate(v -> obj(v, "/payload/source").put("ts_ms", 1.5)),
              QuarantineReason.INVALID_ENVELOPE);

      assertThat(lsn.reason()).contains("source.lsn", "orders");
      assertThat(ts.reason()).contains("source.ts_ms", "orders");
    }

    @Test
    void tableMissingFromTheSpecIsUnknownTableNamingItAndTheSpec() {
      ObjectNode value = payload(json("pg-orders-create.json"));
      obj(value, "/source").put("table", "secrets");

      DecodeResult.Rejected r =
          rejected(record(ORDERS_TOPIC, 17, "acme", value), QuarantineReason.UNKNOWN_TABLE);

      assertThat(r.reason()).contains("\"secrets\"", "cdc/test-export-spec.yaml", ORIGIN);
      assertThat(r.tenantId()).isEqualTo("acme");
    }

    @ParameterizedTest
    @ValueSource(strings = {"t", "m", "x", "", "C"})
    void opOtherThanCudrIsUnknownOp(String op) {
      DecodeResult.Rejected r =
          rejected(
              ordersCreate(v -> obj(v, "/payload").put("op", op)), QuarantineReason.UNKNOWN_OP);

      assertThat(r.reason()).contains("op " + TenantId.describe(op), "orders");
    }

    @Test
    void updateOfAnAppendOnlyTableIsAMutationOnAppendOnly() {
      DecodeResult.Rejected r =
          rejected(
              pageView(
                  v -> {
                    v.put("op", "u");
                    v.set("before", v.get("after").deepCopy());
                  }),
              QuarantineReason.MUTATION_ON_APPEND_ONLY);

      assertThat(r.reason()).contains("op u", "page_views", "append_only");
      assertThat(r.tenantId()).isEqualTo("acme");
    }

    @Test
    void deleteOfAnAppendOnlyTableIsAMutationOnAppendOnly() {
      rejected(
          pageView(
              v -> {
                v.put("op", "d");
                v.set("before", v.get("after"));
                v.putNull("after");
              }),
          QuarantineReason.MUTATION_ON_APPEND_ONLY);
    }

    @Test
    void appendOnlyChangeNamingNoTenantIsMissingTenant() {
      ObjectNode absent = json("pg-page-views-snapshot.json");
      obj(absent, "/after").remove("tenant_id");
      ObjectNode nulled = json("pg-page-views-snapshot.json");
      obj(nulled, "/after").putNull("tenant_id");
      ObjectNode pkKey = JSON.createObjectNode().put("id", 1001);

      DecodeResult.Rejected a =
          rejected(
              record(PAGE_VIEWS_TOPIC, 0, 5, null, bytes(absent)), QuarantineReason.MISSING_TENANT);
      rejected(record(PAGE_VIEWS_TOPIC, 5, pkKey, nulled), QuarantineReason.MISSING_TENANT);

      assertThat(a.reason()).contains("page_views", "tenant_id");
      assertThat(a.tenantId()).isNull();
    }

    @Test
    void mutableChangeWithoutItsKeyColumnIsMissingRowKey() {
      DecodeResult.Rejected absent =
          rejected(
              ordersCreate(v -> obj(v, "/payload/after").remove("id")),
              QuarantineReason.MISSING_ROW_KEY);
      rejected(
          ordersCreate(v -> obj(v, "/payload/after").putNull("id")),
          QuarantineReason.MISSING_ROW_KEY);

      assertThat(absent.reason()).contains("key column id", "orders", "after image");
      assertThat(absent.tenantId()).isEqualTo("acme");
      assertThat(absent.eventTime()).isEqualTo(1735725600123L);
    }
  }

  @Nested
  class Tenants {
    static Stream<String> hostileTenantIds() {
      return Stream.of(
          "",
          "a".repeat(300),
          "../other",
          "a/b",
          "x'; drop table t;--",
          "\u0430cme",
          "ACME",
          " acme");
    }

    @ParameterizedTest
    @MethodSource("hostileTenantIds")
    void hostileTenantIdInAPlainKeyIsInvalidAndShownOnlyEscaped(String tenant) {
      RawRecord input =
          record(ORDERS_TOPIC, 0, 17, utf8(tenant), bytes(json("pg-orders-create.json")));

      DecodeResult.Rejected r = rejected(input, QuarantineReason.INVALID_TENANT_ID);

      assertThat(r.reason())
          .contains("invalid tenant id " + TenantId.describe(tenant), "record key", ORIGIN);
      assertThat(r.tenantId()).isNull();
    }

    @ParameterizedTest
    @MethodSource("hostileTenantIds")
    void hostileTenantIdInTheAfterImageIsInvalid(String tenant) {
      DecodeResult.Rejected r =
          rejected(
              ordersCreate(v -> obj(v, "/payload/after").put("tenant_id", tenant)),
              QuarantineReason.INVALID_TENANT_ID);

      assertThat(r.reason())
          .contains(TenantId.describe(tenant), "column tenant_id", "after image", "orders");
      assertThat(r.tenantId()).isNull();
    }

    @ParameterizedTest
    @MethodSource("hostileTenantIds")
    void hostileTenantIdInAJsonKeyIsInvalid(String tenant) {
      ObjectNode objectKey = JSON.createObjectNode().put("tenant_id", tenant).put("id", 42);
      byte[] stringKey = bytes(JSON.getNodeFactory().textNode(tenant));

      rejected(
          record(ORDERS_TOPIC, 17, objectKey, json("pg-orders-create.json")),
          QuarantineReason.INVALID_TENANT_ID);
      rejected(
          record(ORDERS_TOPIC, 0, 17, stringKey, bytes(json("pg-orders-create.json"))),
          QuarantineReason.INVALID_TENANT_ID);
    }

    @Test
    void hostileTenantIdInTheBeforeImageOfADeleteIsInvalid() {
      ObjectNode value = json("pg-orders-delete-key-only.json");
      obj(value, "/before").put("tenant_id", "../other");

      rejected(
          record(ORDERS_TOPIC, 19, json("pg-orders-key.json"), value),
          QuarantineReason.INVALID_TENANT_ID);
    }

    @Test
    void tenantColumnThatIsNotAStringIsUndecodable() {
      rejected(
          ordersCreate(v -> obj(v, "/payload/after").putObject("tenant_id").put("x", "acme")),
          QuarantineReason.UNDECODABLE_COLUMN);
    }

    @Test
    void malformedJsonKeyIsInvalidWithoutEchoingIt() {
      DecodeResult.Rejected r =
          rejected(
              record(
                  ORDERS_TOPIC,
                  0,
                  17,
                  utf8("{\"id\": 42, \"email\": \"x@y\""),
                  bytes(json("pg-orders-create.json"))),
              QuarantineReason.INVALID_TENANT_ID);

      assertThat(r.reason()).contains("record key", ORIGIN).doesNotContain("x@y");
    }

    @Test
    void plainOrJsonStringOrObjectKeyAgreeingWithThePayloadIsAccepted() {
      ObjectNode value = json("pg-orders-create.json");
      byte[] stringKey = utf8("\"acme\"");
      ObjectNode objectKey = JSON.createObjectNode().put("tenant_id", "acme").put("id", 42);
      ObjectNode nullTenantKey = JSON.createObjectNode().putNull("tenant_id");

      assertThat(decoded(record(ORDERS_TOPIC, 17, "acme", value)).getTenantId()).isEqualTo("acme");
      assertThat(decoded(record(ORDERS_TOPIC, 0, 17, stringKey, bytes(value))).getTenantId())
          .isEqualTo("acme");
      assertThat(decoded(record(ORDERS_TOPIC, 17, objectKey, value)).getTenantId())
          .isEqualTo("acme");
      assertThat(decoded(record(ORDERS_TOPIC, 17, nullTenantKey, value)).getTenantId())
          .isEqualTo("acme");
      assertThat(decoded(record(ORDERS_TOPIC, 0, 17, null, bytes(value))).getTenantId())
          .isEqualTo("acme");
    }

    @Test
    void keyTenantDifferingFromThePayloadTenantIsAMismatchAttributedToNoOne() {
      DecodeResult.Rejected r =
          rejected(
              record(ORDERS_TOPIC, 17, "globex", json("pg-orders-create.json")),
              QuarantineReason.TENANT_MISMATCH);

      assertThat(r.reason())
          .contains("record key", "after image", "orders", ORIGIN)
          .doesNotContain("globex", "acme");
      assertThat(r.tenantId()).isNull();
    }

    @Test
    void beforeAndAfterNamingDifferentTenantsIsAMismatch() {
      ObjectNode value = json("pg-orders-update-no-before.json");
      value.set("before", value.get("after").deepCopy());
      obj(value, "/after").put("tenant_id", "globex");

      DecodeResult.Rejected r =
          rejected(
              record(ORDERS_TOPIC, 18, json("pg-orders-key.json"), value),
              QuarantineReason.TENANT_MISMATCH);

      assertThat(r.reason())
          .contains("before image", "after image")
          .doesNotContain("globex", "acme");
      assertThat(r.tenantId()).isNull();
    }

    @Test
    void invalidPayloadTenantBehindAValidKeyTenantIsAttributedToTheKeyTenant() {
      ObjectNode value = json("pg-orders-create.json");
      obj(value, "/payload/after").put("tenant_id", "../other");

      DecodeResult.Rejected r =
          rejected(record(ORDERS_TOPIC, 17, "acme", value), QuarantineReason.INVALID_TENANT_ID);

      assertThat(r.tenantId()).isEqualTo("acme");
    }
  }

  @Nested
  class Privacy {
    private static final String CANARY = "CANARY-123";

    static Stream<Arguments> canaryPlacements() {
      return Stream.of(
          Arguments.of(
              "a decimal column",
              (Consumer<ObjectNode>) v -> obj(v, "/payload/after").put("amount", CANARY),
              QuarantineReason.UNDECODABLE_COLUMN),
          Arguments.of(
              "a timestamp column",
              (Consumer<ObjectNode>) v -> obj(v, "/payload/after").put("updated_at", CANARY),
              QuarantineReason.UNDECODABLE_COLUMN),
          Arguments.of(
              "a long key column",
              (Consumer<ObjectNode>) v -> obj(v, "/payload/after").put("id", CANARY),
              QuarantineReason.UNDECODABLE_COLUMN),
          Arguments.of(
              "the tenant column as an object",
              (Consumer<ObjectNode>)
                  v -> obj(v, "/payload/after").putObject("tenant_id").put("v", CANARY),
              QuarantineReason.UNDECODABLE_COLUMN),
          Arguments.of(
              "a decimal scale",
              (Consumer<ObjectNode>)
                  v -> obj(v, "/schema/fields/1/fields/3/parameters").put("scale", CANARY),
              QuarantineReason.UNDECODABLE_COLUMN),
          Arguments.of(
              "the op",
              (Consumer<ObjectNode>) v -> obj(v, "/payload").putObject("op").put("v", CANARY),
              QuarantineReason.INVALID_ENVELOPE),
          Arguments.of(
              "the lsn",
              (Consumer<ObjectNode>) v -> obj(v, "/payload/source").put("lsn", CANARY),
              QuarantineReason.INVALID_ENVELOPE));
    }

    @ParameterizedTest(name = "canary in {0}")
    @MethodSource("canaryPlacements")
    void reasonNeverContainsAValueThatFailedToDecode(
        String where, Consumer<ObjectNode> plant, QuarantineReason code) {
      ObjectNode value = json("pg-orders-create.json");
      obj(value, "/payload/after").put("customer_email", CANARY);
      plant.accept(value);

      DecodeResult.Rejected r =
          rejected(record(ORDERS_TOPIC, 17, json("pg-orders-key.json"), value), code);

      assertThat(r.reason()).doesNotContain(CANARY);
    }

    @Test
    void reasonForMalformedJsonNeverQuotesTheInput() {
      DecodeResult.Rejected r =
          rejected(
              record(
                  ORDERS_TOPIC,
                  0,
                  17,
                  utf8("acme"),
                  utf8("{\"op\": " + CANARY + ", \"email\": \"" + CANARY + "\"}")),
              QuarantineReason.UNDECODABLE_JSON);

      assertThat(r.reason()).doesNotContain(CANARY, "CANARY");
    }

    @Test
    void decodedEventsCarryNoUndeclaredValueOutsideTheirRawBytes() {
      ChangeEvent order =
          decoded(ordersCreate(v -> obj(v, "/payload/after").put("customer_email", CANARY)));
      ChangeEvent view =
          decoded(pageView(v -> obj(v, "/after").put("user_email", CANARY).put("ip", CANARY)));

      assertThat(withoutRawBytes(order)).doesNotContain(CANARY);
      assertThat(view.toString()).as("append-only: no raw bytes at all").doesNotContain(CANARY);
    }
  }

  @Nested
  class Api {
    @Test
    void digest64IsTheFirstSixteenHexDigitsAsALong() {
      assertThat(CdcDecoder.digest64("0000000000000001ffffffffffffffff")).isEqualTo(1L);
      assertThat(CdcDecoder.digest64("ffffffffffffffff0000000000000000")).isEqualTo(-1L);
      assertThat(CdcDecoder.digest64("7fffffffffffffff")).isEqualTo(Long.MAX_VALUE);
    }

    @Test
    void digest64RefusesWhatIsNotAnEventId() {
      assertThatThrownBy(() -> CdcDecoder.digest64("abc"))
          .isInstanceOf(IllegalArgumentException.class)
          .hasMessageContaining("16 hex digits");
      assertThatThrownBy(() -> CdcDecoder.digest64(null))
          .isInstanceOf(IllegalArgumentException.class);
      assertThatThrownBy(() -> CdcDecoder.digest64("zzzzzzzzzzzzzzzzzzzz"))
          .isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void decoderSurvivesJavaSerializationAndDecodesTheSame() throws Exception {
      ByteArrayOutputStream out = new ByteArrayOutputStream();
      try (ObjectOutputStream oos = new ObjectOutputStream(out)) {
        oos.writeObject(decoder);
      }
      CdcDecoder copy;
      try (ObjectInputStream ois =
          new ObjectInputStream(new ByteArrayInputStream(out.toByteArray()))) {
        copy = (CdcDecoder) ois.readObject();
      }

      RawRecord r = ordersCreate(v -> {});
      assertThat(copy.decode(r)).isEqualTo(decoder.decode(r));
    }

    @Test
    void decodedEventsSurviveAvroSerialization() throws Exception {
      ChangeEvent e = decoded(ordersCreate(v -> {}));

      ByteBuffer encoded = ChangeEvent.getEncoder().encode(e);
      ChangeEvent back = ChangeEvent.getDecoder().decode(encoded);

      assertThat(back).isEqualTo(e);
    }
  }

  @Nested
  class Robustness {
    @Test
    void aRepeatedConnectSchemaIsParsedOnceYetEveryRecordIsReadByItsOwnSchema() {
      assertThat(decoded(ordersCreate(v -> {})).getAfter()).containsEntry("amount", "12.50");
      // The same table, the same payload, another schema (scale 3): another value.
      ChangeEvent rescaled =
          decoded(
              ordersCreate(
                  v -> {
                    for (JsonNode struct : v.path("schema").path("fields")) {
                      for (JsonNode field : struct.path("fields")) {
                        if (field.path("field").asText().equals("amount")) {
                          ((ObjectNode) field.path("parameters")).put("scale", "3");
                        }
                      }
                    }
                  }));
      assertThat(rescaled.getAfter()).containsEntry("amount", "1.250");
      ChangeEvent again = decoded(ordersCreate(v -> {}));
      assertThat(again.getAfter()).containsEntry("amount", "12.50");
      // A decoder that never saw another schema decodes it alike.
      assertThat(new CdcDecoder(SPEC).decode(ordersCreate(v -> {})))
          .isEqualTo(new DecodeResult.Decoded(again));
    }

    /**
     * The wrapped orders insert's bytes with {@code from} (present once) replaced by {@code to}.
     */
    private RawRecord ordersCreateWith(long offset, String from, String to) {
      RawRecord fixture = ordersCreate(v -> {});
      String text = new String(fixture.value(), StandardCharsets.UTF_8);
      assertThat(text.indexOf(from)).as("%s in the fixture", from).isNotNegative();
      assertThat(text.indexOf(from)).isEqualTo(text.lastIndexOf(from));
      return record(
          ORDERS_TOPIC,
          0,
          offset,
          fixture.key(),
          text.replace(from, to).getBytes(StandardCharsets.UTF_8));
    }

    @Test
    void payloadMembersTheDecoderDoesNotReadChangeNothingYetAreCheckedAsIfRead() {
      ChangeEvent plain = decoded(ordersCreate(v -> {}));
      // source.xmin is parsed, never used: any value, and members beside it, decode alike.
      String xmin = "\"xmin\":null";
      ChangeEvent extra =
          decoded(
              ordersCreateWith(
                  17,
                  xmin,
                  "\"xmin\":{\"a\":[1,2.50,{\"b\":null,\"c\":\"x\"}],\"d\":true},\"more\":[]"));
      extra.setRawValue(plain.getRawValue());
      assertThat(extra).isEqualTo(plain);

      // What reading them as a tree would refuse is still refused, the same way.
      assertThat(
              rejected(
                      ordersCreateWith(18, xmin, "\"xmin\":{\"a\":1,\"a\":2}"),
                      QuarantineReason.UNDECODABLE_JSON)
                  .reason())
          .contains("duplicate field");
      assertThat(
              rejected(
                      ordersCreateWith(19, xmin, "\"xmin\":null,\"xmin\":null"),
                      QuarantineReason.UNDECODABLE_JSON)
                  .reason())
          .contains("duplicate field");
      for (String beyondDecimal :
          List.of("\"xmin\":1e-2147483648", "\"xmin\":{\"a\":[0,[1E+2147483648]]}")) {
        assertThat(
                rejected(
                        ordersCreateWith(20, xmin, beyondDecimal),
                        QuarantineReason.UNDECODABLE_JSON)
                    .reason())
            .as(beyondDecimal)
            .contains("exponent is beyond the range of a decimal");
      }
      assertThat(
              rejected(
                      ordersCreateWith(21, xmin, "\"xmin\":" + "[".repeat(1001) + "]".repeat(1001)),
                      QuarantineReason.UNDECODABLE_JSON)
                  .reason())
          .contains("exceeds the JSON parser's limits");
      assertThat(
              rejected(
                      ordersCreateWith(22, xmin, "\"xmin\":[1,}"),
                      QuarantineReason.UNDECODABLE_JSON)
                  .reason())
          .contains("is not valid JSON");
      assertThat(decoded(ordersCreate(v -> {}))).isEqualTo(plain);
    }

    @Test
    void aKnownSchemaWithADuplicateFieldOrTrailingBytesIsStillRefused() {
      RawRecord valid = ordersCreate(v -> {});
      decoded(valid);
      String text = new String(valid.value(), StandardCharsets.UTF_8);
      assertThat(text).contains("\"schema\":{\"type\":\"struct\",");
      String duplicate =
          text.replace(
              "\"schema\":{\"type\":\"struct\",",
              "\"schema\":{\"type\":\"struct\",\"type\":\"struct\",");
      DecodeResult.Rejected r =
          rejected(
              record(ORDERS_TOPIC, 0, 18, valid.key(), duplicate.getBytes(StandardCharsets.UTF_8)),
              QuarantineReason.UNDECODABLE_JSON);
      assertThat(r.reason()).contains("duplicate field");
      rejected(
          record(ORDERS_TOPIC, 0, 19, valid.key(), (text + " {}").getBytes(StandardCharsets.UTF_8)),
          QuarantineReason.UNDECODABLE_JSON);
      decoded(valid);
    }

    @Test
    void postgresPositionsFollowCommitOrderNotWalOrder() {
      // T2 (change at LSN 110) commits before T1 (change at LSN 100): Debezium delivers T2 first.
      ChangeEvent t2 =
          decoded(
              ordersCreate(
                  v -> {
                    obj(v, "/payload/source").put("lsn", 110).put("sequence", "[\"90\",\"110\"]");
                    obj(v, "/payload/after").put("id", 2);
                  }));
      ChangeEvent t1 =
          decoded(
              ordersCreate(
                  v -> {
                    obj(v, "/payload/source").put("lsn", 100).put("sequence", "[\"120\",\"100\"]");
                    obj(v, "/payload/after").put("id", 1);
                  }));
      assertThat(t2.getPosition().get(0)).isLessThan(t1.getPosition().get(0));
      assertThat(t1.getPosition()).containsExactly(120L, 100L, 1L);
    }

    @Test
    void firstStreamedChangeWithoutLastCommitRanksByItsOwnLsnAboveTheSnapshot() {
      ChangeEvent e =
          decoded(
              ordersCreate(v -> obj(v, "/payload/source").put("sequence", "[null,\"24023128\"]")));
      assertThat(e.getPosition()).containsExactly(24023128L, 24023128L, 1L);
      // A snapshot row of the same wrapped envelope ranks before every streamed change.
      for (String phase : List.of("true", "last")) {
        ChangeEvent snapshot =
            decoded(
                ordersCreate(
                    v ->
                        obj(v, "/payload/source")
                            .put("sequence", "[null,\"24023128\"]")
                            .put("snapshot", phase)));
        assertThat(snapshot.getPosition()).as(phase).containsExactly(0L, 24023128L, 1L);
      }
    }

    @Test
    void beforeImageOnAnInsertIsIgnored() {
      ChangeEvent e =
          decoded(
              ordersCreate(
                  v ->
                      ((ObjectNode) v.path("payload"))
                          .set("before", v.path("payload").path("after").deepCopy())));
      assertThat(e.getBefore()).isNull();
    }

    @Test
    void malformedSequenceIsAnInvalidEnvelope() {
      rejected(
          ordersCreate(v -> obj(v, "/payload/source").put("sequence", "[oops")),
          QuarantineReason.INVALID_ENVELOPE);
    }

    @Test
    void metricColumnThatIsNoNumberByItsSchemaIsQuarantinedNotAggregated() {
      RawRecord r =
          ordersCreate(
              v -> {
                for (JsonNode image : v.path("schema").path("fields")) {
                  for (JsonNode f : image.path("fields")) {
                    if (f.path("field").asText().equals("amount")) {
                      ((ObjectNode) f)
                          .put("type", "string")
                          .remove(List.of("name", "version", "parameters"));
                    }
                  }
                }
                obj(v, "/payload/after").put("amount", "12,50");
              });
      DecodeResult.Rejected q = rejected(r, QuarantineReason.UNDECODABLE_COLUMN);
      assertThat(q.reason()).contains("amount").doesNotContain("12,50");
    }

    @Test
    void farFutureEventTimeIsQuarantinedBeforeItCanMoveTheTenantsClock() {
      // PostgreSQL 'infinity' as Debezium's MicroTimestamp.
      rejected(
          ordersCreate(v -> obj(v, "/payload/after").put("updated_at", 9223372036825200000L)),
          QuarantineReason.IMPLAUSIBLE_EVENT_TIME);
    }
  }
}
