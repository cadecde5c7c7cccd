import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Enumeration;
import java.util.List;
import java.util.zip.ZipEntry;
import java.util.zip.ZipFile;

/**
 * Build check (the cli module runs it in the verify phase, on cli/target/tav.jar): the shipped jar holds no test
 * support. The host emulation of the CUDA kernels (module tav4j-emulation: EmulatedDeviceApi, HostGemm, the
 * "cuda-emu" provider) is on the class path only in the tests; finding any of it here fails the build.
 * Run: java scripts/ShippedJarCheck.java JAR
 */
public class ShippedJarCheck {
    public static void main(String[] args) throws IOException {
        if (args.length != 1) throw new IllegalArgumentException("usage: java ShippedJarCheck.java JAR");
        List<String> found = new ArrayList<>();
        int n = 0;
        try (ZipFile jar = new ZipFile(args[0])) {
            for (Enumeration<? extends ZipEntry> e = jar.entries(); e.hasMoreElements(); n++) {
                ZipEntry z = e.nextElement();
                String name = z.getName();
                String file = name.substring(name.lastIndexOf('/') + 1);
                if (name.startsWith("dev/tav4j/emulation/") || file.startsWith("EmulatedDeviceApi") || file.startsWith("HostGemm")
                        || file.startsWith("EmulatedBackend") || file.startsWith("libtav_emu"))
                    found.add(name);
                if (name.startsWith("META-INF/services/")) {
                    String text = new String(jar.getInputStream(z).readAllBytes(), StandardCharsets.UTF_8);
                    for (String line : text.lines().toList())
                        if (line.contains("emulation") || line.contains("Emulated")) found.add(name + ": " + line.strip());
                }
                if (name.startsWith("META-INF/maven/dev.tav4j/tav4j-emulation/")) found.add(name);
            }
        }
        if (!found.isEmpty()) {
            System.err.println("shipped-jar check: " + args[0] + " holds test support (the host emulation belongs in the tests only):");
            for (String f : found) System.err.println("  " + f);
            System.exit(1);
        }
        System.out.println("shipped-jar check: " + args[0] + " (" + n + " entries) holds no test support");
    }
}
