package io.tenantexport.jobs.operators;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.Map;
import java.util.TreeMap;
import org.apache.flink.util.InstantiationUtil;
import org.junit.jupiter.api.Test;

class FolderPoliciesTest {
  @Test
  void aFleetOfAlikeDocumentsShipsSmallAndArrivesUnchanged() throws Exception {
    Map<String, String> docs = new TreeMap<>();
    long textBytes = 0;
    for (int i = 0; i < 10_000; i++) {
      String tenant = String.format("t%05d-tenant", i);
      String text =
          "tenant: "
              + tenant
              + "\nversion: 1\nstatus: active\ntables:\n  page_views:\n    page: keep\n"
              + "    ip: {action: mask, keep_last: 3}\n";
      docs.put(tenant, text);
      textBytes += text.length();
    }
    // One document beyond DataOutput.writeUTF's 64 KiB limit, with non-ASCII text.
    docs.put("zz-large", "# é\n".repeat(40_000));

    FolderPolicies shipped = new FolderPolicies(docs);
    FolderPolicies arrived =
        InstantiationUtil.clone(shipped, FolderPoliciesTest.class.getClassLoader());

    assertThat(arrived.documents()).isEqualTo(docs);
    assertThat(InstantiationUtil.serializeObject(shipped).length).isLessThan((int) textBytes / 10);
    assertThat(new FolderPolicies(Map.of()).documents()).isEmpty();
  }
}
