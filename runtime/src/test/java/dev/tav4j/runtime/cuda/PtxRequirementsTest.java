package dev.tav4j.runtime.cuda;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

import java.io.ByteArrayInputStream;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;

class PtxRequirementsTest {
    @Test void readsVersionAndTarget() {
        PtxRequirements r = PtxRequirements.parse("//\n// Generated\n.version 9.0\n.target sm_80\n.address_size 64\n");
        assertEquals(new PtxRequirements(9, 0, 8, 0, false), r);
        assertEquals(13000, r.requiredDriverVersion());
        assertTrue(r.runsOn(9, 0));
        assertTrue(r.runsOn(8, 6));
        assertFalse(r.runsOn(7, 5));
    }

    @Test void isaToDriverTable() {
        assertEquals(12000, new PtxRequirements(8, 0, 8, 0, false).requiredDriverVersion());
        assertEquals(12050, new PtxRequirements(8, 5, 8, 0, false).requiredDriverVersion());
        assertEquals(12080, new PtxRequirements(8, 7, 8, 0, false).requiredDriverVersion());
        assertEquals(11080, new PtxRequirements(7, 8, 8, 0, false).requiredDriverVersion());
        assertEquals(13010, new PtxRequirements(9, 1, 8, 0, false).requiredDriverVersion());
    }

    @Test void archSpecificTargetsRunOnlyThere() {
        PtxRequirements r = PtxRequirements.parse(".version 8.8\n.target sm_90a\n");
        assertTrue(r.archSpecific());
        assertTrue(r.runsOn(9, 0));
        assertFalse(r.runsOn(10, 0));
    }

    @Test void missingHeaderFallsBackToDefaults() {
        assertEquals(PtxRequirements.DEFAULT, PtxRequirements.parse("garbage"));
    }

    @Test void headReadsTheHeaderOnlyAndNoCutLine() throws Exception {
        byte[] body = ".func x\n".repeat(200_000).getBytes(StandardCharsets.US_ASCII);
        byte[] header = "//\n// Generated\n.version 9.0\n.target sm_86\n".getBytes(StandardCharsets.US_ASCII);
        ByteArrayInputStream in = new ByteArrayInputStream(concat(header, body));
        assertEquals(new PtxRequirements(9, 0, 8, 6, false), PtxRequirements.parseHead(in));
        assertEquals(header.length + body.length - PtxRequirements.HEAD_BYTES, in.available());
        // a .target line cut at the end of the head is not read as a shorter one (sm_8 for sm_86)
        byte[] pad = ("//" + "x".repeat(PtxRequirements.HEAD_BYTES - 12 - 3) + "\n").getBytes(StandardCharsets.US_ASCII);
        PtxRequirements cut = PtxRequirements.parseHead(new ByteArrayInputStream(concat(pad, ".target sm_86\n".getBytes(StandardCharsets.US_ASCII))));
        assertEquals(PtxRequirements.DEFAULT, cut);
    }

    private static byte[] concat(byte[] a, byte[] b) {
        byte[] r = Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, r, a.length, b.length);
        return r;
    }
}
