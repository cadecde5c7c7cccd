package dev.tav4j.kernels.cpu;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Set;
import java.util.TreeSet;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * Which compiled classes of the CPU backend name jdk.incubator.vector: exactly the vector kernels. Without that module
 * such a class fails to load (the verifier resolves FloatVector), so the ops, the shared helpers and the scalar twins
 * (everything a JVM without the module loads) must not name it; NoVectorApiTest in the model module runs them there.
 */
class VectorFreeClassesTest {
    static final Set<String> VECTOR = Set.of("AttentionMath", "CpuAttentionGradKey", "CpuFmaPeak",
            "CpuAttentionGradQuery", "CpuGemm", "CpuMatmulGradWeight", "QueryLaneAttention", "TemporalLaneAttention", "TemporalLaneAttentionGrad", "VMath", "Vec", "VecLoops", "VecNorm");

    @Test
    void onlyTheVectorKernelsNameTheVectorApi() throws Exception {
        Path dir = Path.of(CpuOps.class.getResource("CpuOps.class").toURI()).getParent();
        Set<String> naming = new TreeSet<>();
        try (Stream<Path> s = Files.list(dir)) {
            for (Path f : s.filter(p -> p.toString().endsWith(".class")).toList()) {
                String bytes = new String(Files.readAllBytes(f), StandardCharsets.ISO_8859_1);
                if (bytes.contains("jdk/incubator/vector")) naming.add(f.getFileName().toString().replace(".class", "").replaceAll("\\$.*", ""));
            }
        }
        assertEquals(new TreeSet<>(VECTOR), naming, "the classes that name jdk.incubator.vector (" + dir + ")");
    }
}
