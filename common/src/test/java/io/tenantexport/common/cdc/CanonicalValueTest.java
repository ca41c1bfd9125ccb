package io.tenantexport.common.cdc;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.tenantexport.common.spec.ColumnSpec;
import io.tenantexport.common.spec.ColumnType;
import java.time.Instant;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/** The canonical rendering shared with the test generator, type by type. */
class CanonicalValueTest {

  /** Parses like the decoder does: exact decimals, trailing zeros kept. */
  private static JsonNode json(String text) throws Exception {
    return CdcDecoder.JSON.readTree(text);
  }

  private static JsonNode schema(String type, String name, String scale) {
    ObjectNode s = CdcDecoder.JSON.createObjectNode().put("type", type).put("optional", true);
    if (name != null) {
      s.put("name", name);
    }
    if (scale != null) {
      s.putObject("parameters").put("scale", scale).put("connect.decimal.precision", "20");
    }
    return s.put("field", "c");
  }

  static Stream<Arguments> bySchema() {
    return Stream.of(
        Arguments.of("bytes", "org.apache.kafka.connect.data.Decimal", "2", "\"BOI=\"", "12.50"),
        Arguments.of("bytes", "org.apache.kafka.connect.data.Decimal", "4", "\"nA==\"", "-0.0100"),
        Arguments.of("bytes", "org.apache.kafka.connect.data.Decimal", "0", "\"AA==\"", "0"),
        Arguments.of("bytes", "org.apache.kafka.connect.data.Decimal", "3", "\"AA==\"", "0.000"),
        Arguments.of("bytes", "org.apache.kafka.connect.data.Decimal", "-2", "\"AYY8\"", "9990000"),
        Arguments.of("bytes", "org.apache.kafka.connect.data.Decimal", "2", "12.50", "12.50"),
        Arguments.of(
            "struct",
            "io.debezium.data.VariableScaleDecimal",
            null,
            "{\"scale\":2,\"value\":\"EtaH\"}",
            "12345.67"),
        Arguments.of(
            "struct",
            "io.debezium.data.VariableScaleDecimal",
            null,
            "{\"scale\":0,\"value\":\"+w==\"}",
            "-5"),
        Arguments.of("int32", "io.debezium.time.Date", null, "0", "1970-01-01"),
        Arguments.of("int32", "org.apache.kafka.connect.data.Date", null, "-1", "1969-12-31"),
        Arguments.of("int32", "io.debezium.time.Time", null, "0", "00:00"),
        Arguments.of(
            "int32", "org.apache.kafka.connect.data.Time", null, "45296789", "12:34:56.789"),
        Arguments.of("int64", "io.debezium.time.MicroTime", null, "86399999999", "23:59:59.999999"),
        Arguments.of("int64", "io.debezium.time.NanoTime", null, "1", "00:00:00.000000001"),
        Arguments.of("int64", "io.debezium.time.Timestamp", null, "-1", "1969-12-31T23:59:59.999Z"),
        Arguments.of(
            "int64", "org.apache.kafka.connect.data.Timestamp", null, "0", "1970-01-01T00:00:00Z"),
        Arguments.of(
            "int64", "io.debezium.time.MicroTimestamp", null, "-1", "1969-12-31T23:59:59.999999Z"),
        Arguments.of(
            "int64", "io.debezium.time.NanoTimestamp", null, "1", "1970-01-01T00:00:00.000000001Z"),
        Arguments.of(
            "string",
            "io.debezium.time.ZonedTimestamp",
            null,
            "\"2025-06-30T23:30:00-05:00\"",
            "2025-07-01T04:30:00Z"),
        Arguments.of(
            "string",
            "io.debezium.time.ZonedTimestamp",
            null,
            "\"2025-01-01T10:00:00.123456Z\"",
            "2025-01-01T10:00:00.123456Z"),
        Arguments.of(
            "string", "io.debezium.time.ZonedTime", null, "\"23:15:00+02:00\"", "23:15:00+02:00"),
        Arguments.of("int32", "io.debezium.time.Year", null, "1999", "1999"),
        Arguments.of(
            "string", "io.debezium.data.Json", null, "\"{ \\\"a\\\" : 1 }\"", "{ \"a\" : 1 }"),
        Arguments.of(
            "string", "io.debezium.data.Json", null, "{\"b\": [1, 2.50]}", "{\"b\":[1,2.50]}"),
        Arguments.of(
            "string",
            "io.debezium.data.Uuid",
            null,
            "\"9f1c0c6e-3f0b-4c1e-9d7a-2b1f0f3e8d11\"",
            "9f1c0c6e-3f0b-4c1e-9d7a-2b1f0f3e8d11"),
        Arguments.of("int8", null, null, "-5", "-5"),
        Arguments.of("int64", null, null, "9223372036854775807", "9223372036854775807"),
        Arguments.of("float32", null, null, "1.5", "1.5"),
        Arguments.of("float64", null, null, "0.1", "0.1"),
        Arguments.of("float64", null, null, "3", "3.0"),
        Arguments.of("float64", null, null, "\"NaN\"", "NaN"),
        Arguments.of("float64", null, null, "\"-Infinity\"", "-Infinity"),
        Arguments.of("boolean", null, null, "false", "false"),
        Arguments.of("string", null, null, "\"Grüße\"", "Grüße"),
        Arguments.of("bytes", null, null, "\"AQID\"", "AQID"),
        Arguments.of("array", null, null, "[1, \"x\"]", "[1,\"x\"]"));
  }

  @ParameterizedTest(name = "{0} {1} {3} -> {4}")
  @MethodSource("bySchema")
  void rendersByConnectSchema(
      String type, String name, String scale, String value, String canonical) throws Exception {
    assertThat(CanonicalValue.withSchema(schema(type, name, scale), json(value)))
        .isEqualTo(canonical);
  }

  @Test
  void jsonNullIsNullWhateverTheType() throws Exception {
    assertThat(
            CanonicalValue.withSchema(
                schema("int64", "io.debezium.time.MicroTimestamp", null), json("null")))
        .isNull();
    assertThat(
            CanonicalValue.withSpec(new ColumnSpec("c", ColumnType.DECIMAL, 2, "ms"), json("null")))
        .isNull();
  }

  static Stream<Arguments> undecodableBySchema() {
    return Stream.of(
        Arguments.of(
            "bytes", "org.apache.kafka.connect.data.Decimal", "2", "\"SECRET!!\"", "not base64"),
        Arguments.of(
            "bytes", "org.apache.kafka.connect.data.Decimal", "2", "\"\"", "empty byte string"),
        Arguments.of(
            "bytes", "org.apache.kafka.connect.data.Decimal", null, "\"BOI=\"", "parameters.scale"),
        Arguments.of(
            "bytes", "org.apache.kafka.connect.data.Decimal", "99999", "\"BOI=\"", "beyond"),
        Arguments.of(
            "bytes", "org.apache.kafka.connect.data.Decimal", "2", "true", "a JSON boolean"),
        Arguments.of(
            "struct", "io.debezium.data.VariableScaleDecimal", null, "\"SECRET\"", "JSON object"),
        Arguments.of(
            "struct",
            "io.debezium.data.VariableScaleDecimal",
            null,
            "{\"scale\":2147483647,\"value\":\"AQ==\"}",
            "beyond"),
        Arguments.of(
            "struct",
            "io.debezium.data.VariableScaleDecimal",
            null,
            "{\"value\":\"AQ==\"}",
            "'scale'"),
        Arguments.of("int64", "io.debezium.time.MicroTime", null, "86400000000", "within one day"),
        Arguments.of("int32", "io.debezium.time.Time", null, "-1", "within one day"),
        Arguments.of(
            "int64", "io.debezium.time.NanoTime", null, "9223372036854775807", "within one day"),
        Arguments.of("int32", "io.debezium.time.Date", null, "999999999999", "date range"),
        Arguments.of(
            "string",
            "io.debezium.time.ZonedTimestamp",
            null,
            "\"2025-01-01T10:00:00\"",
            "ISO-8601"),
        Arguments.of("string", "io.debezium.time.ZonedTimestamp", null, "\"SECRET\"", "ISO-8601"),
        Arguments.of(
            "int64", "io.debezium.time.Timestamp", null, "\"1735725600000\"", "a JSON string"),
        Arguments.of("int64", null, null, "1.5", "64-bit integer"),
        Arguments.of("int64", null, null, "100000000000000000000000000000", "64-bit integer"),
        Arguments.of("float64", null, null, "\"SECRET\"", "JSON number"),
        Arguments.of("boolean", null, null, "\"true\"", "JSON boolean"),
        Arguments.of("string", null, null, "5", "a JSON integer"),
        Arguments.of("bytes", null, null, "\"SECRET!!\"", "not base64"),
        Arguments.of("struct", null, null, "\"SECRET\"", "JSON object or array"),
        Arguments.of("int128", null, null, "1", "unsupported Connect schema type"));
  }

  @ParameterizedTest(name = "{0} {1} {3}: {4}")
  @MethodSource("undecodableBySchema")
  void refusesWhatItsSchemaCannotDecodeWithoutQuotingIt(
      String type, String name, String scale, String value, String problem) {
    assertThatThrownBy(() -> CanonicalValue.withSchema(schema(type, name, scale), json(value)))
        .isInstanceOf(CanonicalValue.NotDecodable.class)
        .hasMessageContaining(problem)
        .satisfies(e -> assertThat(e.getMessage()).doesNotContain("SECRET", "1735725600000"));
  }

  static Stream<Arguments> bySpec() {
    return Stream.of(
        Arguments.of(ColumnType.STRING, -1, "ms", "\"x\"", "x"),
        Arguments.of(ColumnType.LONG, -1, "ms", "-42", "-42"),
        Arguments.of(ColumnType.DOUBLE, -1, "ms", "2.5", "2.5"),
        Arguments.of(ColumnType.DOUBLE, -1, "ms", "\"Infinity\"", "Infinity"),
        Arguments.of(ColumnType.BOOLEAN, -1, "ms", "true", "true"),
        Arguments.of(ColumnType.DECIMAL, 2, "ms", "\"BOI=\"", "12.50"),
        Arguments.of(ColumnType.DECIMAL, 2, "ms", "\"+x4=\"", "-12.50"),
        Arguments.of(ColumnType.DECIMAL, 2, "ms", "12.5", "12.5"),
        Arguments.of(ColumnType.DECIMAL, 2, "ms", "-0.0100", "-0.0100"),
        Arguments.of(ColumnType.DECIMAL, 0, "ms", "{\"scale\":3,\"value\":\"EtaH\"}", "1234.567"),
        Arguments.of(ColumnType.TIMESTAMP, -1, "ms", "1735725600123", "2025-01-01T10:00:00.123Z"),
        Arguments.of(
            ColumnType.TIMESTAMP, -1, "us", "1735725600123456", "2025-01-01T10:00:00.123456Z"),
        Arguments.of(ColumnType.TIMESTAMP, -1, "ns", "-1", "1969-12-31T23:59:59.999999999Z"),
        Arguments.of(
            ColumnType.ZONED_TIMESTAMP,
            -1,
            "ms",
            "\"2025-01-01T11:00:00+01:00\"",
            "2025-01-01T10:00:00Z"),
        Arguments.of(ColumnType.DATE, -1, "ms", "20119", "2025-01-31"),
        Arguments.of(ColumnType.TIME, -1, "ms", "37230500", "10:20:30.500"),
        Arguments.of(ColumnType.TIME, -1, "us", "37230000000", "10:20:30"),
        Arguments.of(ColumnType.TIME, -1, "ns", "37230000000001", "10:20:30.000000001"),
        Arguments.of(ColumnType.JSON, -1, "ms", "\"[1, 2]\"", "[1, 2]"),
        Arguments.of(ColumnType.JSON, -1, "ms", "{\"k\": {\"n\": null}}", "{\"k\":{\"n\":null}}"));
  }

  @ParameterizedTest(name = "{0} {2} {3} -> {4}")
  @MethodSource("bySpec")
  void rendersBySpecDeclarationWithoutSchema(
      ColumnType type, int scale, String unit, String value, String canonical) throws Exception {
    assertThat(CanonicalValue.withSpec(new ColumnSpec("c", type, scale, unit), json(value)))
        .isEqualTo(canonical);
  }

  @Test
  void decimalNumberWithAHugeExponentIsRefusedInsteadOfRenderedAsGigabytesOfZeros() {
    ColumnSpec amount = new ColumnSpec("amount", ColumnType.DECIMAL, 2, "ms");

    assertThatThrownBy(() -> CanonicalValue.withSpec(amount, json("1e-999999999")))
        .isInstanceOf(CanonicalValue.NotDecodable.class)
        .hasMessageContaining("beyond");
    assertThatThrownBy(() -> CanonicalValue.withSpec(amount, json("1e999999999")))
        .isInstanceOf(CanonicalValue.NotDecodable.class);
  }

  @Test
  void specTypesRefuseJsonOfTheWrongKind() {
    assertThatThrownBy(
            () ->
                CanonicalValue.withSpec(
                    new ColumnSpec("c", ColumnType.LONG, -1, "ms"), json("\"7\"")))
        .isInstanceOf(CanonicalValue.NotDecodable.class)
        .hasMessageContaining("64-bit integer for long");
    assertThatThrownBy(
            () ->
                CanonicalValue.withSpec(
                    new ColumnSpec("c", ColumnType.TIME, -1, "us"), json("86400000000")))
        .isInstanceOf(CanonicalValue.NotDecodable.class);
    assertThatThrownBy(
            () ->
                CanonicalValue.withSpec(
                    new ColumnSpec("c", ColumnType.STRING, -1, "ms"), json("{}")))
        .isInstanceOf(CanonicalValue.NotDecodable.class)
        .hasMessageContaining("a JSON object");
  }

  static Stream<Arguments> eventTimes() {
    return Stream.of(
        Arguments.of("2025-01-01T10:00:00.123999Z", 1735725600123L),
        Arguments.of("1969-12-31T23:59:59.9995Z", -1L),
        Arguments.of("2025-01-31", 20119L * 86_400_000L),
        Arguments.of("1969-12-31", -86_400_000L));
  }

  @ParameterizedTest(name = "{0} -> {1}")
  @MethodSource("eventTimes")
  void eventTimeFloorsInstantsToTheMillisecondAndDatesToTheirUtcMidnight(
      String canonical, long millis) throws Exception {
    assertThat(CanonicalValue.eventTimeMillis(canonical)).isEqualTo(millis);
  }

  @Test
  void eventTimeRefusesWhatIsNoInstantOrDateOrLiesBeyondEpochMilliseconds() {
    for (String bad :
        new String[] {"hello", "12:00", "+999999999-12-31", "+1000000000-01-01T00:00:00Z", ""}) {
      assertThatThrownBy(() -> CanonicalValue.eventTimeMillis(bad))
          .as(bad)
          .isInstanceOf(CanonicalValue.NotDecodable.class);
    }
  }

  @Test
  void theFastInstantPathAgreesWithInstantParseOrStepsAside() throws Exception {
    java.util.Random random = new java.util.Random(5);
    for (int i = 0; i < 200_000; i++) {
      // Years 0000 to 9999, and every fraction length Instant.toString writes (0, 3, 6, 9).
      long seconds = random.nextLong(-62_167_219_200L, 253_402_300_799L);
      long nanos =
          switch (i % 4) {
            case 0 -> 0;
            case 1 -> random.nextInt(1000) * 1_000_000L;
            case 2 -> random.nextInt(1_000_000) * 1_000L;
            default -> random.nextInt(1_000_000_000);
          };
      Instant instant = Instant.ofEpochSecond(seconds, nanos);
      String text = instant.toString();
      assertThat(CanonicalValue.instantMillis(text)).as(text).isEqualTo(instant.toEpochMilli());
      assertThat(CanonicalValue.eventTimeMillis(text)).as(text).isEqualTo(instant.toEpochMilli());
    }
    // Other fraction lengths are read too.
    assertThat(CanonicalValue.instantMillis("2025-01-01T10:00:00.5Z")).isEqualTo(1735725600500L);
    assertThat(CanonicalValue.instantMillis("2025-01-01T10:00:00.1234Z")).isEqualTo(1735725600123L);
    // What the fast path does not take, Instant.parse decides: end of day, leap second, long
    // years, malformed text.
    for (String other :
        new String[] {
          "2025-01-01T24:00:00Z",
          "2025-06-30T23:59:60Z",
          "+10000-01-01T00:00:00Z",
          "2025-01-01T10:00:00.Z",
          "2025-01-01T10:00:00.1234567890Z",
          "2025-01-01T10:00:00+01:00",
          "2025-1-01T10:00:00.000Z",
          "2025-01-01T10:0a:00Z"
        }) {
      assertThat(CanonicalValue.instantMillis(other)).as(other).isEqualTo(Long.MIN_VALUE);
    }
    assertThat(CanonicalValue.eventTimeMillis("2025-01-01T24:00:00Z"))
        .isEqualTo(Instant.parse("2025-01-01T24:00:00Z").toEpochMilli());
    assertThatThrownBy(() -> CanonicalValue.eventTimeMillis("2025-02-30T10:00:00Z"))
        .isInstanceOf(CanonicalValue.NotDecodable.class);
    // Instant.parse takes a point without digits; the fast path leaves that to it.
    assertThat(CanonicalValue.eventTimeMillis("2025-01-01T10:00:00.Z"))
        .isEqualTo(Instant.parse("2025-01-01T10:00:00.Z").toEpochMilli());
  }
}
