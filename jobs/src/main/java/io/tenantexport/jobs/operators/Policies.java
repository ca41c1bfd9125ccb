package io.tenantexport.jobs.operators;

import io.tenantexport.common.Ids;
import io.tenantexport.common.policy.PolicyBook;
import io.tenantexport.common.policy.PolicyParser;
import io.tenantexport.common.spec.ExportSpec;
import io.tenantexport.schemas.AuditEvent;
import io.tenantexport.schemas.AuditType;
import io.tenantexport.schemas.PolicyDocument;
import java.time.Instant;
import java.util.Map;
import org.apache.flink.api.common.state.MapStateDescriptor;
import org.apache.flink.api.common.state.ReadOnlyBroadcastState;
import org.apache.flink.api.common.typeinfo.Types;
import org.apache.flink.formats.avro.typeutils.AvroTypeInfo;

/**
 * Tenant policies in the job: the broadcast state that holds the documents received on the control
 * topic, and the audit events of policy changes.
 *
 * <p>Operators that follow policies are built with the policy folder's documents (read when the job
 * is submitted) and keep a {@link PolicyBook} in memory: folder first, then what the broadcast
 * state restored, then updates as they arrive. The broadcast state holds only documents that were
 * applied, keyed by tenant id; it never holds keys (a {@code hash} rule names a key id).
 */
public final class Policies {
  /** Broadcast state: tenant id → the policy document in force that came from the control topic. */
  public static final MapStateDescriptor<String, PolicyDocument> STATE =
      new MapStateDescriptor<>(
          "tenant-policies", Types.STRING, new AvroTypeInfo<>(PolicyDocument.class));

  private Policies() {}

  /** A book holding the policy folder's documents (validated when the job config was loaded). */
  static PolicyBook seeded(ExportSpec spec, Map<String, String> folderDocuments, String folder) {
    PolicyBook book = new PolicyBook(spec);
    var rejected = book.offerAll(folderDocuments, folder);
    if (!rejected.isEmpty()) {
      // JobConfig lints the folder at submission; reaching this means it changed in between.
      throw new IllegalStateException("policy folder " + folder + " is invalid: " + rejected);
    }
    return book;
  }

  /** Offers the documents of the broadcast state (restored from a checkpoint) to the book. */
  static void offerRestored(PolicyBook book, ReadOnlyBroadcastState<String, PolicyDocument> state)
      throws Exception {
    for (Map.Entry<String, PolicyDocument> e : state.immutableEntries()) {
      PolicyDocument d = e.getValue();
      PolicyBook.Outcome o = book.offer(e.getKey(), d.getText(), d.getOrigin());
      if (o instanceof PolicyBook.Outcome.Rejected r
          && PolicyParser.parse(d.getText(), d.getOrigin(), book.spec())
              instanceof PolicyParser.ParseResult.Invalid) {
        // It was valid when it applied: the spec changed under it. Falling back to an older
        // folder policy would silently undo a newer decision (an offboarding, a stricter rule).
        throw new IllegalStateException(
            "restored policy of tenant "
                + e.getKey()
                + " from "
                + d.getOrigin()
                + " no longer fits the export spec ("
                + r.reason()
                + "); publish a valid newer version, or start without state");
      }
    }
  }

  static AuditEvent audit(
      PolicyBook.Outcome outcome,
      PolicyDocument doc,
      int exportVersion,
      String jobVersion,
      long now) {
    AuditEvent.Builder b =
        AuditEvent.newBuilder()
            .setExportVersion(exportVersion)
            .setJobVersion(jobVersion)
            // The publication time is deterministic: a replay of the control record audits alike.
            .setEventTime(
                Instant.ofEpochMilli(doc.getPublishedAt() > 0 ? doc.getPublishedAt() : now))
            .setEmittedAt(Instant.ofEpochMilli(now))
            .setOrigin(doc.getOrigin());
    if (outcome instanceof PolicyBook.Outcome.Applied a) {
      String tenant = a.policy().tenant().value();
      return b.setEventId(
              Ids.of(
                  "audit",
                  "policy-applied",
                  tenant,
                  Long.toString(a.policy().version()),
                  doc.getOrigin()))
          .setType(AuditType.POLICY_APPLIED)
          .setTenantId(tenant)
          .setPolicyVersion(a.policy().version())
          .setReason(
              "policy version "
                  + a.policy().version()
                  + " ("
                  + a.policy().status().name().toLowerCase()
                  + ") replaces "
                  + (a.previousVersion() == 0 ? "no policy" : "version " + a.previousVersion()))
          .build();
    }
    PolicyBook.Outcome.Rejected r = (PolicyBook.Outcome.Rejected) outcome;
    return b.setEventId(
            Ids.of(
                "audit",
                "policy-rejected",
                String.valueOf(r.tenant()),
                Long.toString(r.version()),
                doc.getOrigin()))
        .setType(AuditType.POLICY_REJECTED)
        .setTenantId(r.tenant())
        .setPolicyVersion(r.version() == 0 ? null : r.version())
        .setReason(r.reason())
        .build();
  }
}
