package io.tenantexport.local.bench;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/**
 * A policy folder for the benchmark's tenants: one file per tenant, all alike, governing every
 * column as {@code deploy/policies} does except that {@code user_email} is dropped instead of
 * hashed. A {@code hash} rule needs a key per tenant in the keystore, and the development keystore
 * (PKCS#12, each entry protected with PBKDF2) takes minutes to write and to open with 100,000
 * entries; the job opens it in every decoding subtask.
 */
final class BenchPolicies {
  private static final String TEMPLATE =
      String.join(
          "\n",
          "# Benchmark policy (io.tenantexport.local.bench.BenchPolicies).",
          "tenant: %s",
          "version: 1",
          "status: active",
          "tables:",
          "  page_views:",
          "    tenant_id: keep",
          "    id: keep",
          "    viewed_at: keep",
          "    page: keep",
          "    duration_ms: keep",
          "    user_email: drop",
          "    ip: {action: mask, keep_last: 3}",
          "  orders:",
          "    tenant_id: keep",
          "    id: keep",
          "    updated_at: keep",
          "    status: keep",
          "    amount: keep",
          "    customer_name: {action: mask, keep_last: 2}",
          "  invoices:",
          "    tenant_id: keep",
          "    invoice_id: keep",
          "    issued_at: keep",
          "    currency: keep",
          "    total: keep",
          "    due_on: keep",
          "    billing_address: drop",
          "");

  private BenchPolicies() {}

  /** Writes {@code <tenant>.yaml} for every tenant into {@code folder}; returns the folder. */
  static Path write(Path folder, List<String> tenants) throws IOException {
    Files.createDirectories(folder);
    for (String t : tenants) {
      Files.writeString(folder.resolve(t + ".yaml"), String.format(TEMPLATE, t));
    }
    return folder;
  }
}
