package io.tenantexport.common.keys;

/** A key the configuration or a policy refers to is not in the key provider. */
public final class KeyNotFoundException extends IllegalStateException {
  private static final long serialVersionUID = 1L;

  public KeyNotFoundException(String message) {
    super(message);
  }
}
