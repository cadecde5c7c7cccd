package dev.tav4j.model.golden;

import dev.tav4j.kernels.cpu.CpuOps;
import dev.tav4j.runtime.Ops;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.DynamicTest;

/**
 * The golden parity suite's cases of the ops given as arguments, run on the cpu backend in this JVM, with the suite's
 * tolerances: {@link NoVectorApiTest} starts it on the class path without {@code --add-modules jdk.incubator.vector},
 * where the backend runs its scalar kernels. Prints the suite's lines, then {@code kernels: …} and {@code passed: N};
 * exits non-zero on the first failure.
 */
public final class NoVectorApiGoldenMain {
    private NoVectorApiGoldenMain() {}

    public static void main(String[] args) throws Throwable {
        Set<String> wanted = Set.of(args);
        GoldenParityTest suite = new GoldenParityTest() {
            @Override Set<String> ops() {
                return wanted;
            }
        };
        Ops backend = suite.ops;
        System.out.println("kernels: " + (((CpuOps) backend).vectorApi() ? "vector" : "scalar") + ", jdk.incubator.vector "
                + (ModuleLayer.boot().findModule("jdk.incubator.vector").isPresent() ? "present" : "absent"));
        List<DynamicTest> cases = suite.goldenCases().toList();
        for (DynamicTest t : cases) {
            System.out.println("case: " + t.getDisplayName());
            t.getExecutable().execute();
        }
        System.out.println("passed: " + cases.size());
    }
}
