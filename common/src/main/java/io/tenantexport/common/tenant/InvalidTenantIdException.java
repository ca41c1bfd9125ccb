package io.tenantexport.common.tenant;

/** A tenant id failed validation; the message names the escaped value and where it came from. */
public final class InvalidTenantIdException extends IllegalArgumentException {
  public InvalidTenantIdException(String message) {
    super(message);
  }
}
