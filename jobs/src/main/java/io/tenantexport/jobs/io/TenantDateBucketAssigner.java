package io.tenantexport.jobs.io;

import io.tenantexport.common.tenant.TenantId;
import io.tenantexport.schemas.LakeRecord;
import java.time.ZoneOffset;
import org.apache.flink.core.io.SimpleVersionedSerializer;
import org.apache.flink.streaming.api.functions.sink.filesystem.BucketAssigner;
import org.apache.flink.streaming.api.functions.sink.filesystem.bucketassigners.SimpleVersionedStringSerializer;

/**
 * Puts each lake record under {@code tenant_id=<tenant>/dt=<yyyy-mm-dd>/} (Hive-style, UTC date of
 * the event time). The tenant id is validated again here, right before it becomes part of a path: a
 * record whose tenant is not a valid id fails closed instead of being written anywhere.
 */
public final class TenantDateBucketAssigner implements BucketAssigner<LakeRecord, String> {
  private static final long serialVersionUID = 1L;

  private static final String TENANT_PREFIX = "tenant_id=";

  @Override
  public String getBucketId(LakeRecord r, Context context) {
    return bucketId(r);
  }

  /** The record's bucket: {@code tenant_id=<tenant>/dt=<date>}. */
  public static String bucketId(LakeRecord r) {
    TenantId tenant = TenantId.of(r.getTenantId(), "lake record " + r.getEventId());
    return TENANT_PREFIX
        + tenant.value()
        + "/dt="
        + r.getEventTime().atZone(ZoneOffset.UTC).toLocalDate();
  }

  /** The tenant whose partition a bucket id is: what the sink guard compares with the record. */
  public static String tenantOfBucket(String bucketId) {
    int slash = bucketId.indexOf('/');
    if (!bucketId.startsWith(TENANT_PREFIX) || slash < 0) {
      throw new IllegalArgumentException("not a tenant bucket: " + bucketId);
    }
    return bucketId.substring(TENANT_PREFIX.length(), slash);
  }

  @Override
  public SimpleVersionedSerializer<String> getSerializer() {
    return SimpleVersionedStringSerializer.INSTANCE;
  }
}
