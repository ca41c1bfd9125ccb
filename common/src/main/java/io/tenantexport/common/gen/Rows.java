package io.tenantexport.common.gen;

import java.math.BigDecimal;
import java.math.BigInteger;
import java.time.Instant;
import java.time.LocalDate;
import java.util.Base64;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Immutable row images of the generated tables. Each writes itself as Debezium's JSON (every
 * column, declared or not, in database column order) and renders its canonical projection: the
 * spec's declared columns only, in declaration order. An update makes a new image, so the image an
 * envelope's {@code before} would have shown is always at hand for the truth.
 */
final class Rows {
  private Rows() {}

  /** A {@code page_views} row (append-only). */
  static final class PageView implements Envelope.JsonWritable {
    final String tenantId;
    final long id;
    final long viewedAtMicros;
    final String page;
    final long durationMs;
    final String userEmail;
    final String ip;

    PageView(
        String tenantId,
        long id,
        long viewedAtMicros,
        String page,
        long durationMs,
        String userEmail,
        String ip) {
      this.tenantId = tenantId;
      this.id = id;
      this.viewedAtMicros = viewedAtMicros;
      this.page = page;
      this.durationMs = durationMs;
      this.userEmail = userEmail;
      this.ip = ip;
    }

    PageView withDuration(long newDurationMs) {
      return new PageView(tenantId, id, viewedAtMicros, page, newDurationMs, userEmail, ip);
    }

    long eventTimeMillis() {
      return Math.floorDiv(viewedAtMicros, 1000L);
    }

    @Override
    public void appendJson(JsonBytes out) {
      out.ascii("{\"id\":")
          .number(id)
          .ascii(",\"tenant_id\":")
          .string(tenantId)
          .ascii(",\"viewed_at\":")
          .number(viewedAtMicros)
          .ascii(",\"page\":")
          .string(page)
          .ascii(",\"duration_ms\":")
          .number(durationMs)
          .ascii(",\"user_email\":")
          .string(userEmail)
          .ascii(",\"ip\":")
          .string(ip)
          .ascii('}');
    }

    Map<String, String> canonical() {
      return image(
          "tenant_id",
          tenantId,
          "id",
          Long.toString(id),
          "viewed_at",
          micros(viewedAtMicros),
          "page",
          page,
          "duration_ms",
          Long.toString(durationMs),
          "user_email",
          userEmail,
          "ip",
          ip);
    }
  }

  /** An {@code orders} row (mutable, key {@code id}); amount is a decimal of scale 2. */
  static final class Order implements Envelope.JsonWritable {
    static final int AMOUNT_SCALE = 2;

    /** The non-key columns of the orders struct, in its order, all null, closing the object. */
    private static final String KEY_ONLY_NULLS =
        ",\"tenant_id\":null,\"status\":null,\"amount\":null,\"customer_name\":null,\"updated_at\":null}";

    final String tenantId;
    final long id;
    final String status;
    final long amountUnscaled;

    /** The amount as Connect sends it; set apart so that a malformed record can carry garbage. */
    final String amountBase64;

    final String customerName;
    final long updatedAtMicros;
    private Map<String, String> canonical;

    Order(
        String tenantId,
        long id,
        String status,
        long amountUnscaled,
        String customerName,
        long updatedAtMicros) {
      this(
          tenantId,
          id,
          status,
          amountUnscaled,
          base64Decimal(amountUnscaled),
          customerName,
          updatedAtMicros);
    }

    Order(
        String tenantId,
        long id,
        String status,
        long amountUnscaled,
        String amountBase64,
        String customerName,
        long updatedAtMicros) {
      this.tenantId = tenantId;
      this.id = id;
      this.status = status;
      this.amountUnscaled = amountUnscaled;
      this.amountBase64 = amountBase64;
      this.customerName = customerName;
      this.updatedAtMicros = updatedAtMicros;
    }

    Order changed(String newStatus, long newAmountUnscaled, long newUpdatedAtMicros) {
      return new Order(
          tenantId, id, newStatus, newAmountUnscaled, customerName, newUpdatedAtMicros);
    }

    long eventTimeMillis() {
      return Math.floorDiv(updatedAtMicros, 1000L);
    }

    @Override
    public void appendJson(JsonBytes out) {
      out.ascii("{\"id\":").number(id).ascii(',');
      appendNonKeyJson(out);
    }

    /**
     * The row without its key column, closing the object: what a record missing its row key
     * carries.
     */
    void appendNonKeyJson(JsonBytes out) {
      out.ascii("\"tenant_id\":")
          .string(tenantId)
          .ascii(",\"status\":")
          .string(status)
          .ascii(",\"amount\":")
          .string(amountBase64)
          .ascii(",\"customer_name\":")
          .string(customerName)
          .ascii(",\"updated_at\":")
          .number(updatedAtMicros)
          .ascii('}');
    }

    /**
     * What a PostgreSQL delete under the default replica identity carries as {@code before}: the
     * key only, and, when {@code wrapped} (Kafka Connect's JsonConverter with schemas, which writes
     * every field of the struct), every other column of the struct as an explicit null, in struct
     * order.
     */
    Envelope.JsonWritable keyOnly(boolean wrapped) {
      if (wrapped) {
        return out -> out.ascii("{\"id\":").number(id).ascii(KEY_ONLY_NULLS);
      }
      return out -> out.ascii("{\"id\":").number(id).ascii('}');
    }

    Map<String, String> canonical() {
      // Cached: a live row's image is the after image of one change and the before image of the
      // next.
      if (canonical == null) {
        canonical =
            image(
                "tenant_id",
                tenantId,
                "id",
                Long.toString(id),
                "status",
                status,
                "amount",
                decimal(amountUnscaled, AMOUNT_SCALE),
                "customer_name",
                customerName,
                "updated_at",
                micros(updatedAtMicros));
      }
      return canonical;
    }
  }

  /** An {@code invoices} row (mutable, key {@code invoice_id}); total is a decimal of scale 4. */
  static final class Invoice implements Envelope.JsonWritable {
    static final int TOTAL_SCALE = 4;

    final String tenantId;
    final long invoiceId;
    final String currency;
    final long totalUnscaled;
    final String totalBase64;
    final long issuedAtMillis;
    final int dueOnDays;

    /** JSON text or null (SQL NULL). */
    final String metadata;

    final String billingAddress;

    /** When the row last changed (not a column): rows idle for too long are no longer touched. */
    final long changedAtMillis;

    private Map<String, String> canonical;

    Invoice(
        String tenantId,
        long invoiceId,
        String currency,
        long totalUnscaled,
        String totalBase64,
        long issuedAtMillis,
        int dueOnDays,
        String metadata,
        String billingAddress,
        long changedAtMillis) {
      this.tenantId = tenantId;
      this.invoiceId = invoiceId;
      this.currency = currency;
      this.totalUnscaled = totalUnscaled;
      this.totalBase64 = totalBase64;
      this.issuedAtMillis = issuedAtMillis;
      this.dueOnDays = dueOnDays;
      this.metadata = metadata;
      this.billingAddress = billingAddress;
      this.changedAtMillis = changedAtMillis;
    }

    Invoice changed(long newTotalUnscaled, int newDueOnDays, String newMetadata, long nowMillis) {
      return new Invoice(
          tenantId,
          invoiceId,
          currency,
          newTotalUnscaled,
          base64Decimal(newTotalUnscaled),
          issuedAtMillis,
          newDueOnDays,
          newMetadata,
          billingAddress,
          nowMillis);
    }

    long eventTimeMillis() {
      return issuedAtMillis;
    }

    @Override
    public void appendJson(JsonBytes out) {
      out.ascii("{\"invoice_id\":")
          .number(invoiceId)
          .ascii(",\"tenant_id\":")
          .string(tenantId)
          .ascii(",\"currency\":")
          .string(currency)
          .ascii(",\"total\":")
          .string(totalBase64)
          .ascii(",\"issued_at\":")
          .number(issuedAtMillis)
          .ascii(",\"due_on\":")
          .number(dueOnDays)
          .ascii(",\"metadata\":")
          .string(metadata)
          .ascii(",\"billing_address\":")
          .string(billingAddress)
          .ascii('}');
    }

    Map<String, String> canonical() {
      if (canonical == null) {
        canonical =
            image(
                "tenant_id",
                tenantId,
                "invoice_id",
                Long.toString(invoiceId),
                "currency",
                currency,
                "total",
                decimal(totalUnscaled, TOTAL_SCALE),
                "issued_at",
                Instant.ofEpochMilli(issuedAtMillis).toString(),
                "due_on",
                LocalDate.ofEpochDay(dueOnDays).toString(),
                "metadata",
                metadata,
                "billing_address",
                billingAddress);
      }
      return canonical;
    }
  }

  /**
   * Connect's Decimal encoding: base64 of the minimal big-endian two's-complement unscaled value.
   */
  static String base64Decimal(long unscaled) {
    return Base64.getEncoder().encodeToString(BigInteger.valueOf(unscaled).toByteArray());
  }

  static String decimal(long unscaled, int scale) {
    return BigDecimal.valueOf(unscaled, scale).toPlainString();
  }

  static String micros(long epochMicros) {
    long seconds = Math.floorDiv(epochMicros, 1_000_000L);
    return Instant.ofEpochSecond(seconds, Math.floorMod(epochMicros, 1_000_000L) * 1_000L)
        .toString();
  }

  /**
   * An unmodifiable image from alternating column names and canonical values (values may be null).
   */
  private static Map<String, String> image(String... columnsAndValues) {
    Map<String, String> m = new LinkedHashMap<>(columnsAndValues.length);
    for (int i = 0; i < columnsAndValues.length; i += 2) {
      m.put(columnsAndValues[i], columnsAndValues[i + 1]);
    }
    return Collections.unmodifiableMap(m);
  }
}
