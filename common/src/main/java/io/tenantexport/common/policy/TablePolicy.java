package io.tenantexport.common.policy;

import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;

/**
 * A tenant's rules for one table it may export: column name to action, as written in the policy
 * file (in file order).
 *
 * <p>Default deny: a column of the export spec without a rule is dropped ({@link #action}). The
 * table's structural columns (the spec's tenant column, the table's key columns and its event-time
 * column) are kept by the {@link Redactor} whether they are listed or not.
 *
 * @param table the table's name in the export spec
 * @param fields rules by column; immutable
 */
public record TablePolicy(String table, Map<String, FieldAction> fields) {
  public TablePolicy {
    Objects.requireNonNull(table, "table");
    Objects.requireNonNull(fields, "fields");
    fields.forEach(
        (k, v) -> {
          Objects.requireNonNull(k, "column name");
          Objects.requireNonNull(v, "action of column " + k);
        });
    fields = Collections.unmodifiableMap(new LinkedHashMap<>(fields));
  }

  /** The rule written for {@code column}, or {@link FieldAction#DROP} when there is none. */
  public FieldAction action(String column) {
    return fields.getOrDefault(column, FieldAction.DROP);
  }
}
