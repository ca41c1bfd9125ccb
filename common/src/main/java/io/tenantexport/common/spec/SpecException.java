package io.tenantexport.common.spec;

/** The export spec is invalid; the message names the file, the entry and the problem. */
public final class SpecException extends IllegalArgumentException {
  public SpecException(String message) {
    super(message);
  }
}
