package io.tenantexport.common.cdc;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import io.tenantexport.common.spec.ColumnSpec;
import java.math.BigDecimal;
import java.math.BigInteger;
import java.time.DateTimeException;
import java.time.Instant;
import java.time.LocalDate;
import java.time.LocalTime;
import java.time.ZonedDateTime;
import java.util.Base64;
import java.util.Locale;
import java.util.regex.Pattern;

/**
 * Renders one Debezium column value as its canonical string, the form every output carries.
 *
 * <p>The rendering is a contract shared with the test generator: decimals are {@link
 * BigDecimal#toPlainString()} keeping their scale, dates {@link LocalDate#toString()}, times of day
 * {@link LocalTime#toString()}, timestamps {@link Instant#toString()} (UTC), integers {@link
 * Long#toString(long)}, floating point {@link Double#toString(double)}, JSON documents their text.
 * JSON null is rendered as null for every type.
 *
 * <p>Failures are {@link NotDecodable} whose message says what was expected and what kind of JSON
 * arrived, never the value itself: column values are personal data.
 */
final class CanonicalValue {
  /**
   * Largest decimal scale accepted (PostgreSQL's maximum numeric display scale). Bounds the length
   * of {@code toPlainString()}, which a hostile scale such as {@code 1e-999999999} would otherwise
   * blow up.
   */
  static final int MAX_DECIMAL_SCALE = 16383;

  private static final long MILLIS_PER_DAY = 86_400_000L;

  private static final long NANOS_PER_MILLI = 1_000_000L;
  private static final long NANOS_PER_MICRO = 1_000L;

  /** A Connect Decimal's scale parameter as text; compiled once, it is checked per value. */
  private static final Pattern SCALE = Pattern.compile("-?\\d{1,9}");

  private CanonicalValue() {}

  /** A value that cannot be read as its type; the message names the expectation, not the value. */
  static final class NotDecodable extends Exception {
    private static final long serialVersionUID = 1L;

    NotDecodable(String message) {
      // No stack trace: this is an expected outcome for bad input, reported as a quarantine reason.
      super(message, null, false, false);
    }
  }

  /**
   * Decodes {@code value} by its Kafka Connect field schema ({@code type}, optional {@code name}
   * and {@code parameters}), as found in the {@code schema} part of a wrapped envelope.
   */
  static String withSchema(JsonNode fieldSchema, JsonNode value) throws NotDecodable {
    if (value.isNull()) {
      return null;
    }
    String name = fieldSchema.path("name").asText("");
    switch (name) {
      case "org.apache.kafka.connect.data.Decimal":
        return value.isNumber()
            ? exactDecimal(value)
            : base64Decimal(value, schemaScale(fieldSchema), name);
      case "io.debezium.data.VariableScaleDecimal":
        return variableScaleDecimal(value);
      case "io.debezium.time.Date":
      case "org.apache.kafka.connect.data.Date":
        return date(value, name);
      case "io.debezium.time.Time":
      case "org.apache.kafka.connect.data.Time":
        return timeOfDay(value, NANOS_PER_MILLI, name);
      case "io.debezium.time.MicroTime":
        return timeOfDay(value, NANOS_PER_MICRO, name);
      case "io.debezium.time.NanoTime":
        return timeOfDay(value, 1, name);
      case "io.debezium.time.Timestamp":
      case "org.apache.kafka.connect.data.Timestamp":
        return timestamp(value, NANOS_PER_MILLI, name);
      case "io.debezium.time.MicroTimestamp":
        return timestamp(value, NANOS_PER_MICRO, name);
      case "io.debezium.time.NanoTimestamp":
        return timestamp(value, 1, name);
      case "io.debezium.time.ZonedTimestamp":
        return zonedTimestamp(value, name);
      case "io.debezium.time.ZonedTime":
        return text(value, name);
      case "io.debezium.time.Year":
        return Long.toString(integer(value, name));
      case "io.debezium.data.Json":
        return json(value);
      default:
        return byConnectType(fieldSchema.path("type").asText(""), value);
    }
  }

  /** Decodes {@code value} by the export spec's declaration, for envelopes without a schema. */
  static String withSpec(ColumnSpec column, JsonNode value) throws NotDecodable {
    if (value.isNull()) {
      return null;
    }
    return switch (column.type()) {
      case STRING -> text(value, "string");
      case LONG -> Long.toString(integer(value, "long"));
      case DOUBLE -> floating(value, "double");
      case BOOLEAN -> bool(value, "boolean");
      // A number is decimal.handling.mode=double: the number as the connector wrote it, nothing
      // invented.
      case DECIMAL ->
          value.isNumber()
              ? exactDecimal(value)
              : value.isObject()
                  ? variableScaleDecimal(value)
                  : base64Decimal(value, column.scale(), "decimal with scale " + column.scale());
      case TIMESTAMP -> timestamp(value, nanosPer(column.unit()), "timestamp in " + column.unit());
      case ZONED_TIMESTAMP -> zonedTimestamp(value, "zoned_timestamp");
      case DATE -> date(value, "date");
      case TIME -> timeOfDay(value, nanosPer(column.unit()), "time in " + column.unit());
      case JSON -> json(value);
    };
  }

  /**
   * Event time of a canonical value (epoch ms): instants floored to the millisecond, dates at the
   * start of their day in UTC.
   *
   * @throws NotDecodable if the value is neither, or lies outside the epoch-millisecond range
   */
  static long eventTimeMillis(String canonical) throws NotDecodable {
    try {
      if (canonical.indexOf('T') >= 0) {
        long fast = instantMillis(canonical);
        return fast != NOT_SIMPLE ? fast : Instant.parse(canonical).toEpochMilli();
      }
      return Math.multiplyExact(LocalDate.parse(canonical).toEpochDay(), MILLIS_PER_DAY);
    } catch (DateTimeException | ArithmeticException e) {
      throw new NotDecodable(
          "not a timestamp, zoned timestamp or date within the epoch-millisecond range");
    }
  }

  private static final long NOT_SIMPLE = Long.MIN_VALUE;

  /**
   * Epoch milliseconds of {@code yyyy-MM-ddTHH:mm:ss[.f…]Z} with a four-digit year and 1 to 9
   * fraction digits, the form {@link Instant#toString()} gives every timestamp of years 0000–9999,
   * floored to the millisecond as {@link Instant#toEpochMilli()} does; {@link #NOT_SIMPLE} for
   * anything else (which {@link Instant#parse} then reads or refuses). Why: event times are read
   * back from the canonical strings, and {@code Instant.parse} was a tenth of the decoder's time.
   */
  static long instantMillis(String s) {
    int n = s.length();
    if (n < 20
        || s.charAt(4) != '-'
        || s.charAt(7) != '-'
        || s.charAt(10) != 'T'
        || s.charAt(13) != ':'
        || s.charAt(16) != ':'
        || s.charAt(n - 1) != 'Z') {
      return NOT_SIMPLE;
    }
    int year = digits(s, 0, 4);
    int month = digits(s, 5, 7);
    int day = digits(s, 8, 10);
    int hour = digits(s, 11, 13);
    int minute = digits(s, 14, 16);
    int second = digits(s, 17, 19);
    int millis = 0;
    if (n > 20) {
      int fraction = n - 21; // between the '.' and the 'Z'
      if (s.charAt(19) != '.' || fraction < 1 || fraction > 9 || digits(s, 20, n - 1) < 0) {
        return NOT_SIMPLE;
      }
      millis = digits(s, 20, Math.min(23, n - 1));
      for (int i = n - 1 - 20; i < 3; i++) {
        millis *= 10; // ".5" is 500 ms
      }
    }
    if (year < 0
        || month < 1
        || month > 12
        || day < 1
        || hour > 23
        || minute > 59
        || second > 59
        || hour < 0
        || minute < 0
        || second < 0) {
      return NOT_SIMPLE;
    }
    // An impossible day (02-30) throws DateTimeException, as Instant.parse would.
    long epochDay = LocalDate.of(year, month, day).toEpochDay();
    return epochDay * MILLIS_PER_DAY
        + hour * 3_600_000L
        + minute * 60_000L
        + second * 1_000L
        + millis;
  }

  /** The decimal value of {@code s[from, to)}, or -1 when it holds anything but ASCII digits. */
  private static int digits(String s, int from, int to) {
    int v = 0;
    for (int i = from; i < to; i++) {
      char c = s.charAt(i);
      if (c < '0' || c > '9') {
        return -1;
      }
      v = v * 10 + (c - '0');
    }
    return v;
  }

  private static String byConnectType(String type, JsonNode value) throws NotDecodable {
    switch (type) {
      case "int8":
      case "int16":
      case "int32":
      case "int64":
        return Long.toString(integer(value, type));
      case "float32":
      case "float64":
        return floating(value, type);
      case "boolean":
        return bool(value, type);
      case "string":
        return text(value, type);
      case "bytes":
        // Connect bytes arrive as base64 text; kept as sent (the spec has no binary type to
        // render).
        base64(value, type);
        return value.asText();
      case "struct":
      case "map":
      case "array":
        if (!value.isContainerNode()) {
          throw new NotDecodable(
              "expected a JSON object or array for Connect type " + type + ", got " + kind(value));
        }
        return compact(value);
      default:
        throw new NotDecodable("unsupported Connect schema type '" + type + "'");
    }
  }

  private static String text(JsonNode value, String expected) throws NotDecodable {
    if (!value.isTextual()) {
      throw new NotDecodable("expected a JSON string for " + expected + ", got " + kind(value));
    }
    return value.asText();
  }

  private static long integer(JsonNode value, String expected) throws NotDecodable {
    if (!value.isIntegralNumber() || !value.canConvertToLong()) {
      throw new NotDecodable("expected a 64-bit integer for " + expected + ", got " + kind(value));
    }
    return value.longValue();
  }

  private static String floating(JsonNode value, String expected) throws NotDecodable {
    if (value.isNumber()) {
      return Double.toString(value.doubleValue());
    }
    // Kafka's JsonConverter writes non-finite doubles as these strings.
    if (value.isTextual()) {
      switch (value.asText()) {
        case "NaN":
          return Double.toString(Double.NaN);
        case "Infinity":
          return Double.toString(Double.POSITIVE_INFINITY);
        case "-Infinity":
          return Double.toString(Double.NEGATIVE_INFINITY);
        default:
          break;
      }
    }
    throw new NotDecodable(
        "expected a JSON number (or NaN/Infinity) for " + expected + ", got " + kind(value));
  }

  private static String bool(JsonNode value, String expected) throws NotDecodable {
    if (!value.isBoolean()) {
      throw new NotDecodable("expected a JSON boolean for " + expected + ", got " + kind(value));
    }
    return Boolean.toString(value.booleanValue());
  }

  private static String exactDecimal(JsonNode value) throws NotDecodable {
    return plain(value.decimalValue(), "decimal number");
  }

  private static String base64Decimal(JsonNode value, int scale, String expected)
      throws NotDecodable {
    byte[] bytes = base64(value, expected);
    if (bytes.length == 0) {
      // Connect encodes zero as one 0x00 byte; an empty array is no number at all.
      throw new NotDecodable(
          "expected base64 of a non-empty two's-complement integer for "
              + expected
              + ", got an empty byte string");
    }
    return plain(new BigDecimal(new BigInteger(bytes), scale), expected);
  }

  private static String variableScaleDecimal(JsonNode value) throws NotDecodable {
    String expected = "io.debezium.data.VariableScaleDecimal";
    if (!value.isObject()) {
      throw new NotDecodable(
          "expected a JSON object {scale, value} for " + expected + ", got " + kind(value));
    }
    JsonNode scale = value.path("scale");
    if (!scale.isIntegralNumber() || !scale.canConvertToInt()) {
      throw new NotDecodable("expected an integer 'scale' in " + expected + ", got " + kind(scale));
    }
    return base64Decimal(value.path("value"), checkScale(scale.intValue(), expected), expected);
  }

  private static int schemaScale(JsonNode fieldSchema) throws NotDecodable {
    String where = "org.apache.kafka.connect.data.Decimal";
    JsonNode scale = fieldSchema.path("parameters").path("scale");
    // Connect schema parameters are strings ("2"); accept a number too.
    if (scale.isIntegralNumber() && scale.canConvertToInt()) {
      return checkScale(scale.intValue(), where);
    }
    if (scale.isTextual() && SCALE.matcher(scale.asText()).matches()) {
      return checkScale(Integer.parseInt(scale.asText()), where);
    }
    throw new NotDecodable("schema of " + where + " has no integer parameters.scale");
  }

  private static int checkScale(int scale, String expected) throws NotDecodable {
    if (Math.abs((long) scale) > MAX_DECIMAL_SCALE) {
      throw new NotDecodable("scale of " + expected + " is beyond +/-" + MAX_DECIMAL_SCALE);
    }
    return scale;
  }

  private static String plain(BigDecimal d, String expected) throws NotDecodable {
    checkScale(d.scale(), expected);
    return d.toPlainString();
  }

  private static byte[] base64(JsonNode value, String expected) throws NotDecodable {
    if (!value.isTextual()) {
      throw new NotDecodable(
          "expected a base64 JSON string for " + expected + ", got " + kind(value));
    }
    try {
      return Base64.getDecoder().decode(value.asText());
    } catch (IllegalArgumentException e) {
      throw new NotDecodable(
          "expected base64 for " + expected + ", got a string that is not base64");
    }
  }

  private static String date(JsonNode value, String expected) throws NotDecodable {
    long days = integer(value, expected + " (days since the epoch)");
    try {
      return LocalDate.ofEpochDay(days).toString();
    } catch (DateTimeException e) {
      throw new NotDecodable("day count for " + expected + " is outside the supported date range");
    }
  }

  private static String timeOfDay(JsonNode value, long nanosPerUnit, String expected)
      throws NotDecodable {
    long units = integer(value, expected);
    try {
      return LocalTime.ofNanoOfDay(Math.multiplyExact(units, nanosPerUnit)).toString();
    } catch (DateTimeException | ArithmeticException e) {
      // MySQL TIME spans -838:59:59..838:59:59 and PostgreSQL allows 24:00:00; neither is a time of
      // day.
      throw new NotDecodable(
          "value for " + expected + " is not within one day (00:00 to 23:59:59.999999999)");
    }
  }

  private static String timestamp(JsonNode value, long nanosPerUnit, String expected)
      throws NotDecodable {
    long n = integer(value, expected);
    long unitsPerSecond = 1_000_000_000L / nanosPerUnit;
    // Any long count of ms, us or ns lies within Instant's range; floor keeps pre-1970 values
    // exact.
    return Instant.ofEpochSecond(
            Math.floorDiv(n, unitsPerSecond), Math.floorMod(n, unitsPerSecond) * nanosPerUnit)
        .toString();
  }

  private static String zonedTimestamp(JsonNode value, String expected) throws NotDecodable {
    String text = text(value, expected);
    try {
      return ZonedDateTime.parse(text).toInstant().toString();
    } catch (DateTimeException e) {
      throw new NotDecodable(
          "expected an ISO-8601 timestamp with offset for "
              + expected
              + ", got a string that is not one");
    }
  }

  private static String json(JsonNode value) {
    // Debezium sends JSON columns as a string holding the document: keep it byte for byte.
    return value.isTextual() ? value.asText() : compact(value);
  }

  private static long nanosPer(String unit) throws NotDecodable {
    switch (unit) {
      case "ms":
        return NANOS_PER_MILLI;
      case "us":
        return NANOS_PER_MICRO;
      case "ns":
        return 1;
      default:
        throw new NotDecodable("unknown time unit '" + unit + "'");
    }
  }

  static String compact(JsonNode value) {
    try {
      return CdcDecoder.JSON.writeValueAsString(value);
    } catch (JsonProcessingException e) {
      // Writing an in-memory tree to a String performs no I/O and has no unserializable nodes.
      throw new IllegalStateException("cannot write a JSON tree", e);
    }
  }

  /** The JSON kind of a node, for messages ("a JSON string"): never its content. */
  static String kind(JsonNode node) {
    if (node.isMissingNode()) {
      return "nothing";
    }
    switch (node.getNodeType()) {
      case ARRAY:
        return "a JSON array";
      case OBJECT:
        return "a JSON object";
      case STRING:
        return "a JSON string";
      case NUMBER:
        return node.isIntegralNumber() ? "a JSON integer" : "a JSON decimal number";
      case BOOLEAN:
        return "a JSON boolean";
      case NULL:
        return "JSON null";
      default:
        return "a JSON " + node.getNodeType().name().toLowerCase(Locale.ROOT);
    }
  }
}
