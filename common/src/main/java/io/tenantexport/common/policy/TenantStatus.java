package io.tenantexport.common.policy;

import java.util.Locale;

/**
 * Whether a tenant's changes are exported; written in lower case in a policy file.
 *
 * <p>The job's operators act on the status; the {@link Redactor} does not look at it.
 */
public enum TenantStatus {
  /** Changes of allowed tables are exported, redacted by the tenant's rules. */
  ACTIVE,
  /** Nothing of the tenant is exported for now; the job marks its changes as paused. */
  PAUSED,
  /** The tenant has left: its changes are dropped and nothing of it is exported again. */
  OFFBOARDED;

  /** The word used in policy files ({@code active}, {@code paused}, {@code offboarded}). */
  public String yamlName() {
    return name().toLowerCase(Locale.ROOT);
  }

  /** The status written as {@code word} in a policy file, or null for any other word. */
  public static TenantStatus fromYaml(String word) {
    for (TenantStatus s : values()) {
      if (s.yamlName().equals(word)) {
        return s;
      }
    }
    return null;
  }
}
