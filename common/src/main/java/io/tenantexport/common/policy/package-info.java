/**
 * Tenant policies as code: per tenant, which tables may be exported and how each column is
 * redacted.
 *
 * <p>A policy folder holds one {@code <tenant-id>.yaml} per tenant ({@link PolicyFolder}); {@link
 * PolicyLint} checks a folder in CI and when the job loads it; {@link PolicyParser} reads single
 * documents, such as the later versions that arrive on the control topic; {@link Redactor} applies
 * a {@link TenantPolicy} to row images. Default deny throughout: a table not listed is not
 * exported, a column without a rule is dropped. The format is documented in {@code
 * deploy/policies/README.md} and {@code deploy/policies/policy.schema.json}.
 *
 * <p>Plain Java, no Flink.
 */
package io.tenantexport.common.policy;
