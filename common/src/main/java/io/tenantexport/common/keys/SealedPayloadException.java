package io.tenantexport.common.keys;

/**
 * A sealed quarantine payload is malformed, or cannot be opened (wrong key, wrong origin or altered
 * bytes). The message names the origin and key id where known, never the contents.
 */
public final class SealedPayloadException extends IllegalArgumentException {
  private static final long serialVersionUID = 1L;

  public SealedPayloadException(String message) {
    super(message);
  }

  public SealedPayloadException(String message, Throwable cause) {
    super(message, cause);
  }
}
