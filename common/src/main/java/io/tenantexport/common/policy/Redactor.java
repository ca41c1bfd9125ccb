package io.tenantexport.common.policy;

import io.tenantexport.common.keys.KeyProvider;
import io.tenantexport.common.spec.ColumnSpec;
import io.tenantexport.common.spec.ColumnType;
import io.tenantexport.common.spec.ExportSpec;
import io.tenantexport.common.spec.TableSpec;
import io.tenantexport.common.tenant.TenantId;
import java.math.BigDecimal;
import java.math.RoundingMode;
import java.nio.charset.StandardCharsets;
import java.security.InvalidKeyException;
import java.security.NoSuchAlgorithmException;
import java.time.DateTimeException;
import java.time.Instant;
import java.time.LocalDate;
import java.time.temporal.ChronoUnit;
import java.util.HashMap;
import java.util.HashSet;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import javax.crypto.Mac;
import javax.crypto.SecretKey;

/**
 * Applies a tenant's policy to one projected row image: the last step before a change leaves the
 * job's decoding stage.
 *
 * <p>Values are the job's canonical strings (decimals in plain notation, timestamps ISO-8601 UTC
 * such as {@code 2026-11-26T09:15:30.123456Z}, dates {@code yyyy-mm-dd}); null stays null. Per
 * action:
 *
 * <ul>
 *   <li>{@code keep}: unchanged. {@code drop}: null.
 *   <li>{@code mask}: {@code ***} followed by the last {@code keep_last} code points; just {@code
 *       ***} when the value has {@code keep_last} code points or fewer, so a short value is never
 *       shown whole and the length never shows.
 *   <li>{@code hash}: lower-case hex of HMAC-SHA256 over the value's UTF-8 bytes, keyed with {@code
 *       keys.tenantKey(tenant, keyId)}: the same value gives the same pseudonym within a tenant and
 *       key, and different ones across tenants.
 *   <li>{@code generalize}: a timestamp truncated to its hour or day in UTC, rendered canonically
 *       ({@code 2026-11-26T09:00:00Z}); a date with {@code to: day} is already a day.
 *   <li>{@code bucket}: {@code floor(value / width) * width} (so negative values go down), plain
 *       notation; on a decimal column with the larger of the value's and the width's scale, on a
 *       long column as a whole number.
 * </ul>
 *
 * <p>The output holds every column the export spec declares for the table, in spec order, dropped
 * ones with a null value; input columns the spec does not declare are not copied. Default deny: a
 * column without a rule is dropped. Structural columns (tenant column, key columns, event time) are
 * always kept, whatever the rules say.
 *
 * <p>Not thread-safe: it caches one {@link Mac} per tenant and key id, so each operator instance
 * uses its own. Key ids are immutable: a new key gets a new id, so a cached Mac never goes stale.
 * Exceptions never carry key material or column values.
 */
public final class Redactor {
  static final String MAC_ALGORITHM = "HmacSHA256";
  private static final String MASK = "***";

  private final ExportSpec spec;
  private final KeyProvider keys;
  private final Map<String, Set<String>> structural = new HashMap<>();
  private final Map<MacKey, Mac> macs = new HashMap<>();

  private record MacKey(TenantId tenant, String keyId) {}

  public Redactor(ExportSpec spec, KeyProvider keys) {
    this.spec = Objects.requireNonNull(spec, "spec");
    this.keys = Objects.requireNonNull(keys, "keys");
    for (TableSpec t : spec.tables().values()) {
      Set<String> cols = new HashSet<>(t.key());
      cols.add(spec.tenantColumn());
      cols.add(t.eventTime());
      structural.put(t.name(), Set.copyOf(cols));
    }
  }

  /**
   * Applies the tenant's rules for `table` to one projected image; null image → null.
   *
   * @return a new map with every column of the table in spec order, dropped columns null
   * @throws IllegalArgumentException if the table is not in the spec or not allowed by the policy
   *     (callers check {@link TenantPolicy#allowsTable} first and quarantine the change), if the
   *     image's tenant column names another tenant, or if a value is not canonical for its rule
   * @throws io.tenantexport.common.keys.KeyNotFoundException if a hash key is not in the provider
   */
  public Map<String, String> apply(TenantPolicy policy, String table, Map<String, String> image) {
    if (image == null) {
      return null;
    }
    TableSpec ts = spec.table(table);
    if (ts == null) {
      throw new IllegalArgumentException(
          "table " + TenantId.describe(table) + " is not in the export spec " + spec.source());
    }
    TablePolicy rules = policy.table(table);
    if (rules == null) {
      throw new IllegalArgumentException(
          "tenant "
              + policy.tenant()
              + "'s policy version "
              + policy.version()
              + " does not allow table "
              + table
              + ": its changes are quarantined as TABLE_NOT_ALLOWED, not redacted");
    }
    String imageTenant = image.get(spec.tenantColumn());
    if (imageTenant != null && !imageTenant.equals(policy.tenant().value())) {
      throw new IllegalArgumentException(
          "a row image of table "
              + table
              + " with tenant "
              + TenantId.describe(imageTenant)
              + " was given the policy of tenant "
              + policy.tenant());
    }
    Set<String> kept = structural.get(table);
    Map<String, String> out = new LinkedHashMap<>();
    for (Map.Entry<String, ColumnSpec> c : ts.columns().entrySet()) {
      String col = c.getKey();
      String value = image.get(col);
      FieldAction action = kept.contains(col) ? FieldAction.KEEP : rules.action(col);
      out.put(
          col,
          value == null ? null : redact(policy, table, col, c.getValue().type(), action, value));
    }
    return out;
  }

  private String redact(
      TenantPolicy policy, String table, String col, ColumnType type, FieldAction a, String v) {
    if (a instanceof FieldAction.Keep) {
      return v;
    }
    if (a instanceof FieldAction.Drop) {
      return null;
    }
    if (a instanceof FieldAction.Mask m) {
      return mask(v, m.keepLast());
    }
    if (a instanceof FieldAction.Hash h) {
      return hash(policy.tenant(), h.keyId(), v);
    }
    if (a instanceof FieldAction.Generalize g) {
      return generalize(v, g.to(), type, policy, table, col);
    }
    return bucket(v, ((FieldAction.Bucket) a).width(), type, policy, table, col);
  }

  static String mask(String v, int keepLast) {
    int n = v.codePointCount(0, v.length());
    if (n <= keepLast) {
      return MASK;
    }
    return MASK + v.substring(v.offsetByCodePoints(0, n - keepLast));
  }

  private String hash(TenantId tenant, String keyId, String v) {
    Mac mac = macs.get(new MacKey(tenant, keyId));
    if (mac == null) {
      SecretKey key = keys.tenantKey(tenant, keyId);
      try {
        mac = Mac.getInstance(MAC_ALGORITHM);
        mac.init(key);
      } catch (NoSuchAlgorithmException e) {
        throw new IllegalStateException("this JVM has no " + MAC_ALGORITHM, e);
      } catch (InvalidKeyException e) {
        // Not chained: a provider's message could describe the key.
        throw new IllegalStateException(
            "key " + keyId + " of tenant " + tenant + " cannot be used for " + MAC_ALGORITHM);
      }
      macs.put(new MacKey(tenant, keyId), mac);
    }
    // doFinal resets the Mac for the next value.
    return HexFormat.of().formatHex(mac.doFinal(v.getBytes(StandardCharsets.UTF_8)));
  }

  private static String generalize(
      String v, ChronoUnit to, ColumnType type, TenantPolicy policy, String table, String col) {
    try {
      if (type == ColumnType.DATE && to == ChronoUnit.DAYS) {
        return LocalDate.parse(v).toString();
      }
      if (type == ColumnType.TIMESTAMP || type == ColumnType.ZONED_TIMESTAMP) {
        return Instant.parse(v).truncatedTo(to).toString();
      }
    } catch (DateTimeException e) {
      // Not chained: the parser's message quotes the value.
      throw notCanonical("generalize", "timestamp", policy, table, col);
    }
    throw new IllegalArgumentException(
        "tenant "
            + policy.tenant()
            + "'s policy generalizes "
            + table
            + "."
            + col
            + " to "
            + to
            + ", which its column type does not allow");
  }

  private static String bucket(
      String v, BigDecimal width, ColumnType type, TenantPolicy policy, String table, String col) {
    if (type != ColumnType.LONG && type != ColumnType.DECIMAL) {
      throw new IllegalArgumentException(
          "tenant " + policy.tenant() + "'s policy buckets " + table + "." + col + ", not numeric");
    }
    BigDecimal d;
    try {
      d = new BigDecimal(v);
    } catch (NumberFormatException e) {
      throw notCanonical("bucket", "decimal", policy, table, col);
    }
    BigDecimal floored = d.divide(width, 0, RoundingMode.FLOOR).multiply(width);
    if (type == ColumnType.LONG) {
      return floored.setScale(0, RoundingMode.FLOOR).toPlainString();
    }
    return floored.setScale(Math.max(d.scale(), width.scale()), RoundingMode.FLOOR).toPlainString();
  }

  private static IllegalArgumentException notCanonical(
      String action, String expected, TenantPolicy policy, String table, String col) {
    return new IllegalArgumentException(
        "cannot "
            + action
            + " "
            + table
            + "."
            + col
            + " for tenant "
            + policy.tenant()
            + ": the value is not a canonical "
            + expected);
  }
}
