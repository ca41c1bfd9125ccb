package io.tenantexport.common.cdc;

import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.core.JsonLocation;
import com.fasterxml.jackson.core.JsonParseException;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.core.StreamReadFeature;
import com.fasterxml.jackson.core.exc.StreamConstraintsException;
import com.fasterxml.jackson.core.io.JsonEOFException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.ObjectReader;
import com.fasterxml.jackson.databind.cfg.JsonNodeFeature;
import com.fasterxml.jackson.databind.json.JsonMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.MissingNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.tenantexport.common.Ids;
import io.tenantexport.common.cdc.CanonicalValue.NotDecodable;
import io.tenantexport.common.spec.ExportSpec;
import io.tenantexport.common.spec.MetricSpec;
import io.tenantexport.common.spec.TableSpec;
import io.tenantexport.common.tenant.TenantId;
import io.tenantexport.schemas.ChangeEvent;
import io.tenantexport.schemas.Disposition;
import java.io.IOException;
import java.io.Serializable;
import java.io.StringWriter;
import java.math.BigDecimal;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;

/**
 * Decodes one Debezium change event (JSON, as the PostgreSQL and MySQL connectors write it, with or
 * without the {@code {"schema","payload"}} wrapper) into a validated, tenant-attributed, projected
 * {@link ChangeEvent}.
 *
 * <p>Contract:
 *
 * <ul>
 *   <li><b>Total.</b> {@link #decode} never throws for any key or value bytes. A null value is a
 *       {@link DecodeResult.Tombstone}; everything it cannot export is a {@link
 *       DecodeResult.Rejected} with a stable {@link QuarantineReason} and a reason naming the
 *       table, column or field and the record's origin ({@code topic/partition@offset}).
 *   <li><b>No personal data in reasons.</b> A reason never contains a column value. The only value
 *       it may show is an invalid tenant id, escaped and bounded by {@link TenantId#describe};
 *       besides that it may name an unknown table or op.
 *   <li><b>Default deny.</b> Only tables of the export spec are decoded (else UNKNOWN_TABLE), and
 *       only their declared columns are kept: an undeclared column never reaches a {@link
 *       ChangeEvent} field other than the raw bytes kept for mutable tables.
 *   <li><b>Tenant.</b> Every tenant a record names must be valid ({@link TenantId#problem}) and all
 *       must agree: the key's (plain string, JSON string, or the tenant column of a JSON object
 *       key), the before image's and the after image's tenant column. A change naming none is kept
 *       with a null tenant for mutable tables (attributed downstream from row state, e.g. a
 *       PostgreSQL delete under the default replica identity) and refused for append-only tables.
 *       The key is checked first, so a refusal of a record with a valid key tenant is attributed to
 *       that tenant; a refusal for {@code TENANT_MISMATCH} is attributed to none.
 *   <li><b>Canonical values.</b> Column values become canonical strings (see {@link
 *       CanonicalValue}); the envelope's Connect schema decides the type when present, the spec's
 *       declaration otherwise.
 *   <li><b>Identity.</b> Source positions are not unique (snapshot rows share one, a MySQL
 *       statement's rows differ only by {@code row}, changes of one PostgreSQL transaction may
 *       share an LSN), so {@code event_id} hashes the position together with the row and its
 *       images: {@link Ids#of} over table, position_kind, the position as {@code [v1,v2,...]},
 *       row_key (or ""), op, and the before and after images as compact JSON objects with their
 *       projected columns sorted by name (or {@code null}). A replay of the same change gets the
 *       same id, also at another Kafka offset when the position is a database position (pg, mysql);
 *       kafka positions are the offset itself.
 * </ul>
 *
 * <p>Thread-safe; its only state is a cache of parsed Connect schemas. Serializable so Flink can
 * ship it; the JSON mapper is static.
 */
public final class CdcDecoder implements Serializable {
  private static final long serialVersionUID = 1L;

  /**
   * Exact decimals (no double rounding, trailing zeros kept), no trailing garbage after a document,
   * and duplicate fields refused: a record where two parsers could disagree about a tenant is not
   * trusted.
   */
  static final ObjectMapper JSON =
      JsonMapper.builder()
          .enable(DeserializationFeature.USE_BIG_DECIMAL_FOR_FLOATS)
          .configure(JsonNodeFeature.STRIP_TRAILING_BIGDECIMAL_ZEROES, false)
          .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS)
          .enable(StreamReadFeature.STRICT_DUPLICATE_DETECTION)
          .build();

  /**
   * Reads one member's value of a document under parsing: {@link #JSON} without the trailing-token
   * check, which would see the rest of the document as trailing.
   */
  private static final ObjectReader MEMBER =
      JSON.reader().without(DeserializationFeature.FAIL_ON_TRAILING_TOKENS);

  private static final Set<String> OPS = Set.of("c", "u", "d", "r");

  // Compiled once: String.matches compiles its pattern on every call, and these run per record.
  private static final Pattern LSN = Pattern.compile("\\d{1,19}");
  private static final Pattern BINLOG_INDEX = Pattern.compile("\\d{1,18}");

  /** Stands in for a known schema object at the start of an envelope (see readEnvelope). */
  private static final byte[] STAND_IN = "{\"schema\":{}".getBytes(StandardCharsets.US_ASCII);

  private static final DecodeResult.Tombstone TOMBSTONE = new DecodeResult.Tombstone();
  private static final String KIND_PG = "pg";
  private static final String KIND_MYSQL = "mysql";
  private static final String KIND_KAFKA = "kafka";

  private final ExportSpec spec;

  /** Key of the image digest in event ids; null: unkeyed (tests and tools only). */
  private final SecretKeySpec eventIdKey;

  /** One keyed HMAC per thread that decodes; built where the decoder runs. */
  private transient volatile ThreadLocal<Mac> macs;

  /** Connect schemas seen in wrapped envelopes; built where the decoder runs. */
  private transient volatile SchemaCache schemas;

  /**
   * A decoder whose event ids hash row images without a key. Only for tests and tools: an unkeyed
   * id is a confirmation oracle for values a tenant's policy removes (guess a value, recompute the
   * id, compare), so the job always uses {@link #CdcDecoder(ExportSpec, byte[])}.
   */
  public CdcDecoder(ExportSpec spec) {
    this.spec = Objects.requireNonNull(spec, "spec");
    this.eventIdKey = null;
  }

  /**
   * A decoder whose event ids digest the row images with HMAC-SHA256 under {@code eventIdKey}: ids
   * stay deterministic (a replay of a change has the same id), but without the key nobody holding
   * an exported id can test guesses of the plaintext behind it.
   */
  public CdcDecoder(ExportSpec spec, byte[] eventIdKey) {
    this.spec = Objects.requireNonNull(spec, "spec");
    if (eventIdKey == null || eventIdKey.length < 16) {
      throw new IllegalArgumentException("an event id key needs at least 16 bytes");
    }
    this.eventIdKey = new SecretKeySpec(eventIdKey.clone(), "HmacSHA256");
  }

  /**
   * Decodes one record; never throws for any key or value bytes.
   *
   * @param r the record; must not be null
   */
  public DecodeResult decode(RawRecord r) {
    Objects.requireNonNull(r, "record");
    if (r.value() == null) {
      return TOMBSTONE;
    }
    Attempt attempt = new Attempt(r);
    try {
      return new DecodeResult.Decoded(attempt.decode());
    } catch (Reject e) {
      return new DecodeResult.Rejected(e.code, e.getMessage(), attempt.tenant, attempt.eventTime);
    } catch (RuntimeException e) {
      // One bad record must not stop the job even through a decoder bug. The exception's message is
      // left out: parser and number exceptions can quote the input.
      return new DecodeResult.Rejected(
          QuarantineReason.INVALID_ENVELOPE,
          "unexpected "
              + e.getClass().getName()
              + " while decoding the record at "
              + r.origin()
              + " (a decoder bug)",
          null,
          r.timestamp());
    }
  }

  /**
   * The first 16 hex digits of an {@code event_id} as a long: a compact digest for the dedupe tie
   * sets.
   *
   * @throws IllegalArgumentException if {@code eventId} does not start with 16 hex digits
   */
  public static long digest64(String eventId) {
    if (eventId == null || eventId.length() < 16) {
      throw new IllegalArgumentException(
          "event id "
              + TenantId.describe(eventId)
              + " is shorter than the 16 hex digits of a digest");
    }
    return HexFormat.fromHexDigitsToLong(eventId, 0, 16);
  }

  /** Refusal of the record under decoding; stackless because it is an expected outcome. */
  private static final class Reject extends Exception {
    private static final long serialVersionUID = 1L;
    private final QuarantineReason code;

    Reject(QuarantineReason code, String reason) {
      super(reason, null, false, false);
      this.code = code;
    }
  }

  private record Position(String kind, List<Long> values) {}

  /** Decoding of one record; remembers the best tenant and event time known when it is refused. */
  private final class Attempt {
    private final RawRecord r;
    private final String origin;
    private String tenant;
    private String tenantSource;
    private long eventTime;

    /** The wrapped envelope's Connect schema as {@link SchemaCache} had it, or null. */
    private SchemaCache.Entry knownSchema;

    Attempt(RawRecord r) {
      this.r = r;
      this.origin = r.origin();
      this.eventTime = r.timestamp();
    }

    ChangeEvent decode() throws Reject {
      // The key first: a refusal of the value can then still be attributed to the key's tenant.
      claim(keyTenant(), "the record key", origin);
      JsonNode root = parseValue();
      if (!root.isObject()) {
        throw new Reject(
            QuarantineReason.INVALID_ENVELOPE,
            "value at "
                + origin
                + " is "
                + CanonicalValue.kind(root)
                + ", not a Debezium change envelope object");
      }
      JsonNode payload = root;
      JsonNode schema = MissingNode.getInstance();
      if (root.has("payload")) {
        payload = root.get("payload");
        schema = root.path("schema");
        if (!payload.isObject()) {
          throw new Reject(
              QuarantineReason.INVALID_ENVELOPE,
              "payload of the value at "
                  + origin
                  + " is "
                  + CanonicalValue.kind(payload)
                  + ", not a Debezium change envelope object");
        }
      }
      JsonNode source = payload.path("source");
      JsonNode opNode = payload.path("op");
      if (!source.isObject() || !opNode.isTextual() || !source.path("table").isTextual()) {
        throw new Reject(
            QuarantineReason.INVALID_ENVELOPE,
            "value at "
                + origin
                + " is not a Debezium change envelope: it needs an 'op' string and a 'source' object with a 'table'"
                + " string (has op: "
                + opNode.isTextual()
                + ", source: "
                + source.isObject()
                + ")");
      }
      String tableName = source.path("table").asText();
      TableSpec table = spec.table(tableName);
      if (table == null) {
        throw new Reject(
            QuarantineReason.UNKNOWN_TABLE,
            "table "
                + TenantId.describe(tableName)
                + " (source.table of the value at "
                + origin
                + ") is not in the export spec "
                + spec.source());
      }
      String where = "table " + table.name() + " at " + origin;
      String op = opNode.asText();
      if (!OPS.contains(op)) {
        throw new Reject(
            QuarantineReason.UNKNOWN_OP,
            "op "
                + TenantId.describe(op)
                + " of "
                + where
                + " is not one of c, u, d, r (truncate and message events are not exported)");
      }

      Long sourceTs = optionalLong(source, "ts_ms", "source.ts_ms", where);
      Long payloadTs = optionalLong(payload, "ts_ms", "ts_ms", where);
      long fallbackTime =
          sourceTs != null ? sourceTs : payloadTs != null ? payloadTs : r.timestamp();
      eventTime = fallbackTime;
      Position position = position(source, payload.path("transaction"), where);

      JsonNode before = image(payload, "before", where);
      JsonNode after = image(payload, "after", where);
      boolean cached = knownSchema != null && knownSchema.node() == schema;
      Map<String, JsonNode> beforeSchema =
          cached ? knownSchema.before() : fieldSchemas(schema, "before");
      Map<String, JsonNode> afterSchema =
          cached ? knownSchema.after() : fieldSchemas(schema, "after");

      claim(imageTenant(table, before, beforeSchema, "before", where), "the before image", where);
      claim(imageTenant(table, after, afterSchema, "after", where), "the after image", where);

      boolean delete = op.equals("d");
      if (!table.isMutable() && (delete || op.equals("u"))) {
        throw new Reject(
            QuarantineReason.MUTATION_ON_APPEND_ONLY,
            "op "
                + op
                + " of "
                + where
                + ": the table is declared append_only, which takes only inserts (c) and snapshot reads (r)");
      }
      String requiredImage = delete ? "before" : "after";
      if ((delete ? before : after) == null) {
        throw new Reject(
            QuarantineReason.INVALID_ENVELOPE,
            "op " + op + " of " + where + " has no " + requiredImage + " image");
      }
      if (tenant == null && !table.isMutable()) {
        throw new Reject(
            QuarantineReason.MISSING_TENANT,
            "change of append-only "
                + where
                + " names no tenant: neither the record key nor the row image has a "
                + spec.tenantColumn());
      }

      // Debezium sends no before image with an insert or a snapshot read; one that does is ignored,
      // so it can never be retracted from counts it was never added to.
      Map<String, String> beforeImage =
          op.equals("c") || op.equals("r")
              ? null
              : project(table, before, beforeSchema, "before", where);
      Map<String, String> afterImage = project(table, after, afterSchema, "after", where);
      eventTime = delete ? fallbackTime : eventTimeOf(table, afterImage, fallbackTime, where);
      requireNumericMetrics(table, beforeImage, "before", where);
      requireNumericMetrics(table, afterImage, "after", where);
      long latestPlausible = fallbackTime + spec.maxEventTimeAhead().toMillis();
      if (eventTime > latestPlausible) {
        // One far-future row (PostgreSQL 'infinity', a broken clock) would move the tenant's clock
        // ahead and make every later change of the tenant late.
        throw new Reject(
            QuarantineReason.IMPLAUSIBLE_EVENT_TIME,
            "event-time column "
                + table.eventTime()
                + " of "
                + where
                + " lies more than "
                + spec.maxEventTimeAhead()
                + " after the change's source time");
      }
      String rowKey =
          table.isMutable()
              ? rowKey(table, delete ? beforeImage : afterImage, requiredImage, where)
              : null;

      String scopeKey =
          table.isMutable()
              ? table.name() + "|" + rowKey
              : tenant
                  + "|"
                  + table.name()
                  // Kafka offsets only order records within one partition.
                  + (position.kind().equals(KIND_KAFKA)
                      ? "|" + r.topic() + "-" + r.partition()
                      : "");
      // Raw bytes only for mutable tables: their changes may still be quarantined downstream
      // (unattributable or claiming another tenant's row) and must be replayable then.
      ByteBuffer rawKey = table.isMutable() && r.key() != null ? ByteBuffer.wrap(r.key()) : null;
      ByteBuffer rawValue = table.isMutable() ? ByteBuffer.wrap(r.value()) : null;
      return ChangeEvent.newBuilder()
          .setTenantId(tenant)
          .setSourceTable(table.name())
          .setScopeKey(scopeKey)
          .setOp(op)
          .setDisposition(Disposition.APPLY)
          .setEventTime(eventTime)
          .setSourceTs(sourceTs != null ? sourceTs : r.timestamp())
          .setPosition(position.values())
          .setPositionKind(position.kind())
          .setEventId(eventId(table.name(), position, rowKey, op, beforeImage, afterImage))
          .setRowKey(rowKey)
          .setBefore(beforeImage)
          .setAfter(afterImage)
          .setOriginTopic(r.topic())
          .setOriginPartition(r.partition())
          .setOriginOffset(r.offset())
          .setRawKey(rawKey)
          .setRawValue(rawValue)
          .setQuarantineReason(null)
          .build();
    }

    private JsonNode parseValue() throws Reject {
      JsonNode root;
      try {
        root = readEnvelope(r.value());
      } catch (JsonEOFException e) {
        throw new Reject(
            QuarantineReason.UNDECODABLE_JSON,
            "value at "
                + origin
                + " ends before its JSON document is complete (truncated after byte "
                + at(e)
                + ")");
      } catch (StreamConstraintsException e) {
        throw new Reject(
            QuarantineReason.UNDECODABLE_JSON,
            "value at "
                + origin
                + " exceeds the JSON parser's limits (nesting depth, number or string length)");
      } catch (JsonProcessingException e) {
        // Jackson's own message quotes the offending token, which may be personal data.
        String problem =
            e.getOriginalMessage() != null && e.getOriginalMessage().startsWith("Duplicate field")
                ? "has a duplicate field"
                : "is not valid JSON";
        throw new Reject(
            QuarantineReason.UNDECODABLE_JSON,
            "value at " + origin + " " + problem + " (near byte " + at(e) + ")");
      } catch (IOException e) {
        throw new Reject(
            QuarantineReason.UNDECODABLE_JSON,
            "value at "
                + origin
                + " cannot be read as JSON ("
                + e.getClass().getSimpleName()
                + ")");
      } catch (NumberFormatException e) {
        // Jackson lets this through for exponents no BigDecimal can hold, such as 1e-2147483648.
        throw new Reject(
            QuarantineReason.UNDECODABLE_JSON,
            "value at "
                + origin
                + " holds a number whose exponent is beyond the range of a decimal");
      }
      if (root == null || root.isMissingNode()) {
        throw new Reject(
            QuarantineReason.UNDECODABLE_JSON,
            "value at "
                + origin
                + " holds no JSON document ("
                + r.value().length
                + " bytes of whitespace or nothing)");
      }
      return root;
    }

    /**
     * Parses the value as {@code JSON.readTree} does (same features: duplicate fields refused,
     * exact decimals, trailing tokens refused; same exceptions), except for a top-level {@code
     * schema} object: the parser checks its syntax while skipping it, and its tree comes from
     * {@link SchemaCache} by its bytes. A wrapped envelope repeats its table's Connect schema in
     * every record, and building that tree, which is most of the record's bytes, was half of the
     * decoder's time.
     *
     * <p>Faster still when the value opens with the schema its topic had last time, byte for byte
     * ({@link SchemaCache#recent}): then the schema is not even tokenised (that was a fifth of the
     * decoder's time). The rest of the value is parsed behind a stand-in opening, {@code
     * {"schema":{}}, which leaves the parser where the real schema would have: inside the root
     * object, after the value of its first field "schema" (equal bytes close the object at the same
     * byte, so the rest reads alike, and a second "schema" is still a duplicate). Anything unusual
     * — another encoding, another first field, any exception — takes the exact path, so outcomes
     * and messages are the same as without the shortcut.
     */
    private JsonNode readEnvelope(byte[] value) throws IOException {
      SchemaCache cache = schemaCache();
      SchemaCache.Entry recent = cache.recent(r.topic());
      if (recent != null) {
        byte[] rest = afterSchema(value, recent.bytes());
        if (rest != null) {
          try {
            return readEnvelope(rest, recent);
          } catch (IOException | RuntimeException e) {
            // The exact path reports it, with the value's own byte offsets.
            knownSchema = null;
          }
        }
      }
      JsonNode root = readEnvelope(value, null);
      if (knownSchema != null) {
        cache.recent(r.topic(), knownSchema);
      }
      return root;
    }

    /**
     * {@code {"schema":{}} followed by what follows {@code schema} in {@code value}, when {@code
     * value} is UTF-8 and opens with an object whose first field is {@code schema} with exactly
     * these bytes; otherwise null.
     */
    private static byte[] afterSchema(byte[] value, byte[] schema) throws IOException {
      // A zero byte among the first four or a byte order mark means UTF-16/32 or a BOM to Jackson.
      if (value.length < 4 || value[0] != '{' || value[1] == 0 || value[2] == 0 || value[3] == 0) {
        return null;
      }
      int from;
      try (JsonParser p = JSON.createParser(value)) {
        if (p.nextToken() != JsonToken.START_OBJECT
            || !"schema".equals(p.nextFieldName())
            || p.nextToken() != JsonToken.START_OBJECT) {
          return null;
        }
        from = (int) p.currentTokenLocation().getByteOffset();
      } catch (JsonProcessingException e) {
        return null;
      }
      int to = from + schema.length;
      if (to > value.length || !Arrays.equals(value, from, to, schema, 0, schema.length)) {
        return null;
      }
      byte[] rest = new byte[STAND_IN.length + value.length - to];
      System.arraycopy(STAND_IN, 0, rest, 0, STAND_IN.length);
      System.arraycopy(value, to, rest, STAND_IN.length, value.length - to);
      return rest;
    }

    /**
     * The envelope loop; {@code known}: the schema whose stand-in {@code value} opens with, or null
     * to take schemas from their bytes.
     */
    private JsonNode readEnvelope(byte[] value, SchemaCache.Entry known) throws IOException {
      try (JsonParser p = JSON.createParser(value)) {
        if (p.nextToken() != JsonToken.START_OBJECT) {
          return JSON.readTree(value); // not an envelope: the plain path gives the exact outcome
        }
        ObjectNode root = JSON.createObjectNode();
        for (String name = p.nextFieldName(); name != null; name = p.nextFieldName()) {
          if (p.nextToken() == JsonToken.START_OBJECT && name.equals("schema")) {
            int from = (int) p.currentTokenLocation().getByteOffset();
            p.skipChildren();
            int to = (int) p.currentLocation().getByteOffset();
            knownSchema = known != null ? known : schemaCache().get(value, from, to);
            root.set(name, knownSchema.node());
          } else {
            root.set(name, MEMBER.readTree(p));
          }
        }
        if (p.nextToken() != null) {
          throw new JsonParseException(p, "trailing token after the JSON document");
        }
        return root;
      }
    }

    private long at(JsonProcessingException e) {
      JsonLocation loc = e.getLocation();
      return loc == null ? -1 : Math.max(loc.getByteOffset(), loc.getCharOffset());
    }

    /**
     * An integer field that may be absent or null (then null); anything else but an integer is
     * refused.
     */
    private Long optionalLong(JsonNode parent, String field, String name, String where)
        throws Reject {
      JsonNode v = parent.path(field);
      if (v.isMissingNode() || v.isNull()) {
        return null;
      }
      if (!v.isIntegralNumber() || !v.canConvertToLong()) {
        throw new Reject(
            QuarantineReason.INVALID_ENVELOPE,
            name + " of " + where + " is " + CanonicalValue.kind(v) + ", not a 64-bit integer");
      }
      return v.longValue();
    }

    private Position position(JsonNode source, JsonNode transaction, String where) throws Reject {
      Long lsn = optionalLong(source, "lsn", "source.lsn", where);
      if (lsn != null) {
        Long order = optionalLong(transaction, "total_order", "transaction.total_order", where);
        // Changes arrive in commit order, but an LSN is where a change sits in the WAL: concurrent
        // transactions interleave there. Debezium's sequence ["<last commit lsn>","<lsn>"] leads
        // with
        // the commit order; snapshot rows have no last commit (0, before any streamed change).
        return new Position(
            KIND_PG,
            positionOf(lastCommitLsn(source, lsn, where), lsn, order != null ? order : 0L));
      }
      JsonNode file = source.path("file");
      Long pos = optionalLong(source, "pos", "source.pos", where);
      if (file.isTextual() && pos != null) {
        Long row = optionalLong(source, "row", "source.row", where);
        return new Position(
            KIND_MYSQL, positionOf(binlogIndex(file.asText(), where), pos, row != null ? row : 0L));
      }
      return new Position(KIND_KAFKA, positionOf((long) r.partition(), r.offset()));
    }

    /**
     * The first element of {@code source.sequence}; the change's own LSN when there is no sequence.
     */
    private long lastCommitLsn(JsonNode source, long lsn, String where) throws Reject {
      JsonNode sequence = source.path("sequence");
      if (sequence.isMissingNode() || sequence.isNull()) {
        return lsn;
      }
      try {
        JsonNode parsed = sequence.isTextual() ? JSON.readTree(sequence.asText()) : sequence;
        if (parsed != null && parsed.isArray() && parsed.size() == 2) {
          JsonNode first = parsed.get(0);
          if (first.isNull()) {
            // Snapshot rows rank before every streamed change; a streamed change without a last
            // commit (the first one after a fresh snapshot) ranks by its own LSN.
            String snapshot = source.path("snapshot").asText("false");
            return snapshot.equals("false") ? lsn : 0L;
          }
          if (first.isTextual() && LSN.matcher(first.asText()).matches()
              || first.isIntegralNumber()) {
            return Long.parseLong(first.asText());
          }
        }
      } catch (IOException | NumberFormatException e) {
        // reported below, with where it came from
      }
      throw new Reject(
          QuarantineReason.INVALID_ENVELOPE,
          "source.sequence of " + where + " is not Debezium's [\"<last commit lsn>\",\"<lsn>\"]");
    }

    /**
     * The numeric suffix of a binlog file name ({@code mysql-bin.000003} is 3), which orders the
     * files.
     */
    private long binlogIndex(String file, String where) throws Reject {
      String suffix = file.substring(file.lastIndexOf('.') + 1);
      if (!BINLOG_INDEX.matcher(suffix).matches()) {
        throw new Reject(
            QuarantineReason.INVALID_ENVELOPE,
            "source.file of " + where + " has no numeric binlog index after its last '.'");
      }
      return Long.parseLong(suffix);
    }

    private JsonNode image(JsonNode payload, String name, String where) throws Reject {
      JsonNode v = payload.path(name);
      if (v.isMissingNode() || v.isNull()) {
        return null;
      }
      if (!v.isObject()) {
        throw new Reject(
            QuarantineReason.INVALID_ENVELOPE,
            name + " of " + where + " is " + CanonicalValue.kind(v) + ", not a row image object");
      }
      return v;
    }

    private String keyTenant() throws Reject {
      if (r.key() == null) {
        return null;
      }
      String text = new String(r.key(), StandardCharsets.UTF_8);
      if (TenantId.isValid(text)) {
        // The common key: a plain tenant id. As JSON it is either no document (an exception, which
        // was most of this method's time) or a number, boolean or null, and all of those take the
        // text itself as the candidate below.
        return text;
      }
      JsonNode parsed;
      try {
        parsed = JSON.readTree(text);
      } catch (IOException | NumberFormatException e) {
        // Not JSON (or a number no decimal can hold): a plain string key, which is the tenant id
        // itself.
        parsed = MissingNode.getInstance();
      }
      String candidate;
      String from = "the record key at " + origin;
      if (parsed.isObject()) {
        JsonNode fields =
            parsed.size() == 2 && parsed.has("schema") && parsed.has("payload")
                ? parsed.get("payload")
                : parsed;
        JsonNode v = fields.path(spec.tenantColumn());
        if (v.isMissingNode() || v.isNull()) {
          return null;
        }
        from = "field " + spec.tenantColumn() + " of " + from;
        if (v.isTextual()) {
          candidate = v.asText();
        } else if (v.isIntegralNumber() && v.canConvertToLong()) {
          candidate = Long.toString(v.longValue());
        } else {
          throw new Reject(
              QuarantineReason.INVALID_TENANT_ID,
              from + " is " + CanonicalValue.kind(v) + ", not a tenant id");
        }
      } else if (parsed.isTextual()) {
        candidate = parsed.asText();
      } else {
        candidate = text;
        String trimmed = text.strip();
        if (trimmed.startsWith("{") || trimmed.startsWith("[")) {
          // Malformed JSON (or an array): never a tenant id, and echoing it could show key columns.
          throw new Reject(
              QuarantineReason.INVALID_TENANT_ID,
              "the record key at "
                  + origin
                  + " is malformed JSON or a JSON array, neither a JSON object nor a tenant id string");
        }
      }
      return validTenant(candidate, from);
    }

    private String imageTenant(
        TableSpec table,
        JsonNode image,
        Map<String, JsonNode> schema,
        String imageName,
        String where)
        throws Reject {
      JsonNode v = image == null ? null : image.get(spec.tenantColumn());
      if (v == null) {
        return null;
      }
      String candidate = decodeColumn(table, spec.tenantColumn(), v, schema, imageName, where);
      if (candidate == null) {
        return null;
      }
      return validTenant(
          candidate,
          "column " + spec.tenantColumn() + " of the " + imageName + " image of " + where);
    }

    private String validTenant(String candidate, String from) throws Reject {
      String problem = TenantId.problem(candidate);
      if (problem != null) {
        throw new Reject(
            QuarantineReason.INVALID_TENANT_ID,
            "invalid tenant id " + TenantId.describe(candidate) + " in " + from + ": " + problem);
      }
      return candidate;
    }

    /**
     * Records that {@code from} names {@code candidate}; every tenant a record names must be the
     * same.
     */
    private void claim(String candidate, String from, String where) throws Reject {
      if (candidate == null) {
        return;
      }
      if (tenant != null && !tenant.equals(candidate)) {
        // Neither claim can be trusted, so the refusal is attributed to no tenant.
        tenant = null;
        throw new Reject(
            QuarantineReason.TENANT_MISMATCH,
            tenantSource + " and " + from + " of " + where + " name different tenants");
      }
      tenant = candidate;
      tenantSource = from;
    }

    private Map<String, String> project(
        TableSpec table,
        JsonNode image,
        Map<String, JsonNode> schema,
        String imageName,
        String where)
        throws Reject {
      if (image == null) {
        return null;
      }
      // Mutable (LinkedHashMap, ArrayList below): Avro readers reuse and clear collections in
      // place.
      Map<String, String> out = new LinkedHashMap<>();
      for (String column : table.columns().keySet()) {
        JsonNode v = image.get(column);
        if (v != null) {
          out.put(column, decodeColumn(table, column, v, schema, imageName, where));
        }
      }
      return out;
    }

    private String decodeColumn(
        TableSpec table,
        String column,
        JsonNode value,
        Map<String, JsonNode> schema,
        String imageName,
        String where)
        throws Reject {
      JsonNode fieldSchema = schema.get(column);
      try {
        return fieldSchema != null
            ? CanonicalValue.withSchema(fieldSchema, value)
            : CanonicalValue.withSpec(table.columns().get(column), value);
      } catch (NotDecodable e) {
        throw new Reject(
            QuarantineReason.UNDECODABLE_COLUMN,
            "column "
                + column
                + " of the "
                + imageName
                + " image of "
                + where
                + " cannot be decoded "
                + (fieldSchema != null
                    ? "by its envelope schema"
                    : "as declared in the export spec")
                + ": "
                + e.getMessage());
      }
    }

    /**
     * Metric columns must be finite numbers: the aggregation must never meet a value it cannot add.
     */
    private void requireNumericMetrics(
        TableSpec table, Map<String, String> image, String imageName, String where) throws Reject {
      if (image == null) {
        return;
      }
      for (MetricSpec m : table.metrics()) {
        String v = m.column() == null ? null : image.get(m.column());
        if (v == null) {
          continue;
        }
        try {
          new BigDecimal(v);
        } catch (NumberFormatException e) {
          throw new Reject(
              QuarantineReason.UNDECODABLE_COLUMN,
              "column "
                  + m.column()
                  + " of the "
                  + imageName
                  + " image of "
                  + where
                  + " is not a finite number, which metric "
                  + m.name()
                  + " needs");
        }
      }
    }

    private long eventTimeOf(
        TableSpec table, Map<String, String> afterImage, long fallback, String where)
        throws Reject {
      String value = afterImage.get(table.eventTime());
      if (value == null) {
        return fallback;
      }
      try {
        return CanonicalValue.eventTimeMillis(value);
      } catch (NotDecodable e) {
        throw new Reject(
            QuarantineReason.UNDECODABLE_COLUMN,
            "event-time column "
                + table.eventTime()
                + " of the after image of "
                + where
                + " is "
                + e.getMessage());
      }
    }

    private String rowKey(
        TableSpec table, Map<String, String> image, String imageName, String where) throws Reject {
      ArrayNode values = JSON.createArrayNode();
      for (String column : table.key()) {
        String v = image.get(column);
        if (v == null) {
          throw new Reject(
              QuarantineReason.MISSING_ROW_KEY,
              "key column "
                  + column
                  + " of "
                  + where
                  + " is missing or null in the "
                  + imageName
                  + " image");
        }
        values.add(v);
      }
      return CanonicalValue.compact(values);
    }
  }

  private static List<Long> positionOf(Long... values) {
    return new ArrayList<>(List.of(values));
  }

  /**
   * Field schemas of the before or after struct in a Connect envelope schema; empty without one.
   */
  private static Map<String, JsonNode> fieldSchemas(JsonNode schema, String image) {
    Map<String, JsonNode> out = new HashMap<>();
    for (JsonNode struct : schema.path("fields")) {
      if (image.equals(struct.path("field").asText(null))) {
        for (JsonNode field : struct.path("fields")) {
          if (field.path("field").isTextual()) {
            out.put(field.path("field").asText(), field);
          }
        }
      }
    }
    return out;
  }

  private String eventId(
      String table,
      Position position,
      String rowKey,
      String op,
      Map<String, String> before,
      Map<String, String> after) {
    String pos =
        position.values().stream().map(String::valueOf).collect(Collectors.joining(",", "[", "]"));
    // Every part is a spec name, a number list or compact JSON, none of which can hold Ids' raw
    // 0x1f
    // separator, so distinct inputs never run together.
    String beforeJson = sortedJson(before);
    String afterJson = sortedJson(after);
    if (eventIdKey == null) {
      return Ids.of(
          table, position.kind(), pos, rowKey == null ? "" : rowKey, op, beforeJson, afterJson);
    }
    return Ids.of(
        table,
        position.kind(),
        pos,
        rowKey == null ? "" : rowKey,
        op,
        imageDigest(beforeJson + '\u001f' + afterJson));
  }

  /** A keyed decoder holds its key: it is built where it runs, never shipped or stored. */
  private void writeObject(java.io.ObjectOutputStream out) throws IOException {
    if (eventIdKey != null) {
      throw new java.io.NotSerializableException(
          "a CdcDecoder with an event id key must not be serialized; build it in open()");
    }
    out.defaultWriteObject();
  }

  private String imageDigest(String images) {
    ThreadLocal<Mac> m = macs;
    if (m == null) {
      // A race builds two, one of which is dropped: harmless.
      macs = m = ThreadLocal.withInitial(this::newMac);
    }
    // doFinal resets the Mac for the next record; building and keying one per record was a tenth
    // of the decoder's time.
    return HexFormat.of().formatHex(m.get().doFinal(images.getBytes(StandardCharsets.UTF_8)));
  }

  private Mac newMac() {
    try {
      Mac mac = Mac.getInstance("HmacSHA256");
      mac.init(eventIdKey);
      return mac;
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException("HmacSHA256 unavailable", e);
    }
  }

  private SchemaCache schemaCache() {
    SchemaCache c = schemas;
    if (c == null) {
      // A race builds two caches, one of which is dropped: harmless.
      schemas = c = new SchemaCache();
    }
    return c;
  }

  /**
   * Parsed Connect schemas by their exact bytes, with the field schemas of their before and after
   * structs. Equal bytes parse to equal trees, so a hit is what parsing would give. The trees are
   * shared between records and threads and are never modified. Bounded: it is emptied when full (a
   * job sees one schema per table and schema version, so that means the input is unusual, not that
   * an eviction order matters).
   */
  private static final class SchemaCache {
    private static final int MAX_ENTRIES = 256;

    /** A schema's exact bytes (never modified), its tree and its images' field schemas. */
    record Entry(
        byte[] bytes, JsonNode node, Map<String, JsonNode> before, Map<String, JsonNode> after) {}

    private final Map<Key, Entry> entries = new ConcurrentHashMap<>();

    /** The schema each topic's last wrapped record had (Debezium: a topic per table). */
    private final Map<String, Entry> recent = new ConcurrentHashMap<>();

    Entry recent(String topic) {
      return topic == null ? null : recent.get(topic);
    }

    void recent(String topic, Entry e) {
      if (topic != null && recent.get(topic) != e) {
        if (recent.size() >= MAX_ENTRIES) {
          recent.clear();
        }
        recent.put(topic, e);
      }
    }

    Entry get(byte[] buf, int from, int to) throws IOException {
      Key probe = new Key(buf, from, to);
      Entry e = entries.get(probe);
      if (e == null) {
        JsonNode node = JSON.readTree(buf, from, to - from);
        Key key = probe.copy();
        e = new Entry(key.buf, node, fieldSchemas(node, "before"), fieldSchemas(node, "after"));
        if (entries.size() >= MAX_ENTRIES) {
          entries.clear();
        }
        entries.put(key, e);
      }
      return e;
    }

    /** A byte range compared by content. */
    private static final class Key {
      private final byte[] buf;
      private final int from;
      private final int to;
      private final int hash;

      Key(byte[] buf, int from, int to) {
        this.buf = buf;
        this.from = from;
        this.to = to;
        int h = 1;
        for (int i = from; i < to; i++) {
          h = 31 * h + buf[i];
        }
        this.hash = h;
      }

      Key copy() {
        return new Key(Arrays.copyOfRange(buf, from, to), 0, to - from);
      }

      @Override
      public boolean equals(Object o) {
        return o instanceof Key k
            && hash == k.hash
            && Arrays.equals(buf, from, to, k.buf, k.from, k.to);
      }

      @Override
      public int hashCode() {
        return hash;
      }
    }
  }

  /**
   * The image as compact JSON, columns in name order, a null value as JSON null, a null image as
   * {@code null}: the bytes of an {@link ObjectNode} holding the sorted image, as event ids have
   * always hashed them, written straight to a generator (through the tree and the mapper's
   * serializer look-up it was a tenth of the decoder's time).
   */
  static String sortedJson(Map<String, String> image) {
    if (image == null) {
      return "null";
    }
    StringWriter out = new StringWriter(32 * image.size() + 2);
    try (JsonGenerator g = JSON.getFactory().createGenerator(out)) {
      g.writeStartObject();
      for (Map.Entry<String, String> column : new TreeMap<>(image).entrySet()) {
        g.writeFieldName(column.getKey());
        if (column.getValue() == null) {
          g.writeNull();
        } else {
          g.writeString(column.getValue());
        }
      }
      g.writeEndObject();
    } catch (IOException e) {
      // Writing to a String performs no I/O.
      throw new IllegalStateException("cannot write an image as JSON", e);
    }
    return out.toString();
  }
}
