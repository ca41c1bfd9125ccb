package io.tenantexport.common.policy;

import io.tenantexport.common.tenant.TenantId;
import java.lang.ref.WeakReference;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.WeakHashMap;

/**
 * One tenant's export policy: which tables it may export and how each column is redacted.
 *
 * <p>Semantics (default deny):
 *
 * <ul>
 *   <li>A table not in {@link #tables()} is not allowed for the tenant; the job quarantines its
 *       changes as {@code TABLE_NOT_ALLOWED}.
 *   <li>A column of the export spec without a rule is dropped (exported as null).
 *   <li>Structural columns (the spec's tenant column, the table's key columns and its event-time
 *       column) are always kept; a rule for them may only be {@code keep}.
 *   <li>A column a metric aggregates may only be {@code keep} or {@code bucket}; without a rule it
 *       is dropped like any other.
 * </ul>
 *
 * <p>{@link #version()} only ever goes up: a document with the same version must have the same
 * content. Immutable.
 *
 * @param tenant whose policy this is
 * @param version 1 or more
 * @param status whether the tenant's changes are exported
 * @param tables rules by table name, in file order; immutable
 * @param source where the document came from (a file, a control-topic offset), for messages
 */
public record TenantPolicy(
    TenantId tenant,
    long version,
    TenantStatus status,
    Map<String, TablePolicy> tables,
    String source) {
  public TenantPolicy {
    Objects.requireNonNull(tenant, "tenant");
    Objects.requireNonNull(status, "status");
    Objects.requireNonNull(tables, "tables");
    Objects.requireNonNull(source, "source");
    if (version < 1) {
      throw new IllegalArgumentException(
          "policy version of tenant " + tenant + " must be >= 1, got " + version);
    }
    tables.forEach(
        (name, t) -> {
          if (!name.equals(t.table())) {
            throw new IllegalArgumentException(
                "table policy for " + t.table() + " is filed under " + name);
          }
        });
    tables = intern(Collections.unmodifiableMap(new LinkedHashMap<>(tables)));
  }

  /**
   * Canonical rule maps: every policy with equal rules in the same order shares one map. A fleet's
   * policies are mostly alike (tenants get the same template), and each operator that follows
   * policies holds all of them: at 100,000 tenants separate copies of the rules took hundreds of MB
   * per operator, shared ones take one map plus a record per tenant. Weakly held, so rules no
   * policy uses any more are collected.
   */
  private static final Map<Map<String, TablePolicy>, WeakReference<Map<String, TablePolicy>>>
      CANONICAL = new WeakHashMap<>();

  private static Map<String, TablePolicy> intern(Map<String, TablePolicy> tables) {
    synchronized (CANONICAL) {
      WeakReference<Map<String, TablePolicy>> ref = CANONICAL.get(tables);
      Map<String, TablePolicy> canonical = ref == null ? null : ref.get();
      // Map equality ignores order; the file order is part of a policy, so only an equal order
      // shares.
      if (canonical != null
          && List.copyOf(canonical.keySet()).equals(List.copyOf(tables.keySet()))) {
        return canonical;
      }
      if (canonical == null) {
        CANONICAL.put(tables, new WeakReference<>(tables));
      }
      return tables;
    }
  }

  /** Whether the tenant may export {@code table} at all. */
  public boolean allowsTable(String table) {
    return tables.containsKey(table);
  }

  /** The rules for {@code table}, or null when the table is not allowed. */
  public TablePolicy table(String table) {
    return tables.get(table);
  }

  /**
   * Whether {@code other} says the same as this policy: same tenant, status and rules (version and
   * source aside; comments and layout of the file do not count).
   */
  public boolean sameContent(TenantPolicy other) {
    return tenant.equals(other.tenant) && status == other.status && tables.equals(other.tables);
  }
}
