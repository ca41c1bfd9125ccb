package io.tenantexport.jobs.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.tenantexport.common.cdc.QuarantineReason;
import java.io.IOException;
import java.util.Base64;

/**
 * One record of the quarantine topic as the job writes it: the JSON rendering of {@code
 * quarantine_record.avsc} (bytes as base64, unions as their value). The payload parts stay sealed
 * here; {@link #toString()} shows where the record is from, never its payload.
 *
 * @param at where this quarantine record is: {@code quarantine-topic/partition@offset}
 * @param tenantOrNull the record's tenant if the job found a valid one
 * @param sealedKey the original key, sealed; null when the original key was null
 * @param sealedValue the original value, sealed; null when the original value was null
 */
record QuarantineEntry(
    String at,
    String reasonCode,
    String tenantOrNull,
    String originTopic,
    int originPartition,
    long originOffset,
    byte[] sealedKey,
    byte[] sealedValue) {

  /** The prefix of the origin topic of records refused by a sink guard, which hold no payload. */
  static final String SINK_ORIGIN_PREFIX = "sink:";

  /** The record it came from: {@code topic/partition@offset}, what its payload is sealed to. */
  String origin() {
    return originTopic + "/" + originPartition + "@" + originOffset;
  }

  /**
   * Whether it holds an input record to replay. A sink guard's record is the job's own output,
   * refused on the way out; it carries no payload.
   */
  boolean hasPayload() {
    return !reasonCode.equals(QuarantineReason.SINK_GUARD_MISMATCH.name())
        && !originTopic.startsWith(SINK_ORIGIN_PREFIX);
  }

  /**
   * Reads one quarantine topic value.
   *
   * @throws IllegalArgumentException saying what is missing or malformed, never quoting the value
   */
  static QuarantineEntry parse(ObjectMapper json, String at, byte[] value) {
    if (value == null) {
      throw new IllegalArgumentException("quarantine record " + at + " has no value");
    }
    JsonNode n;
    try {
      n = json.readTree(value);
    } catch (IOException e) {
      // Jackson's message may quote the input: say only where.
      throw new IllegalArgumentException("quarantine record " + at + " is not JSON");
    }
    if (n == null || !n.isObject()) {
      throw new IllegalArgumentException("quarantine record " + at + " is not a JSON object");
    }
    return new QuarantineEntry(
        at,
        text(n, "reason_code", at),
        n.path("tenant_id").isTextual() ? n.get("tenant_id").asText() : null,
        text(n, "origin_topic", at),
        (int) number(n, "origin_partition", at),
        number(n, "origin_offset", at),
        bytes(n, "key", at),
        bytes(n, "value", at));
  }

  private static String text(JsonNode n, String field, String at) {
    JsonNode v = n.get(field);
    if (v == null || !v.isTextual() || v.asText().isEmpty()) {
      throw new IllegalArgumentException(
          "quarantine record " + at + " has no " + field + " (a non-empty string)");
    }
    return v.asText();
  }

  private static long number(JsonNode n, String field, String at) {
    JsonNode v = n.get(field);
    if (v == null
        || !v.isIntegralNumber()
        || (field.endsWith("partition") && !v.canConvertToInt())) {
      throw new IllegalArgumentException(
          "quarantine record " + at + " has no " + field + " (an integer)");
    }
    return v.asLong();
  }

  private static byte[] bytes(JsonNode n, String field, String at) {
    JsonNode v = n.get(field);
    if (v == null || v.isNull()) {
      return null;
    }
    if (!v.isTextual()) {
      throw new IllegalArgumentException(
          "quarantine record " + at + ": " + field + " is neither null nor a base64 string");
    }
    try {
      return Base64.getDecoder().decode(v.asText());
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException(
          "quarantine record " + at + ": " + field + " is not valid base64");
    }
  }

  @Override
  public String toString() {
    return "QuarantineEntry["
        + at
        + ", "
        + reasonCode
        + ", tenant "
        + tenantOrNull
        + ", origin "
        + origin()
        + "]";
  }
}
