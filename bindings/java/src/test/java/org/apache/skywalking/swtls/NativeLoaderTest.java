package org.apache.skywalking.swtls;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.BufferedReader;
import java.io.ByteArrayInputStream;
import java.io.File;
import java.io.StringReader;
import java.net.URL;
import java.net.URLClassLoader;
import java.nio.file.FileSystems;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Choosing the jar's library for this platform (OS, architecture, libc), the error when the
 * jar has none, and extracting it: a private directory, a file no one else may write.
 */
class NativeLoaderTest {
    private static final NativeLoader.LibcProbe GLIBC = probe(false);
    private static final NativeLoader.LibcProbe MUSL = probe(true);
    private static final NativeLoader.LibcProbe NOT_ASKED = new NativeLoader.LibcProbe() {
        @Override
        public NativeLoader.Libc detect() {
            throw new AssertionError("the libc is asked on Linux only");
        }
    };

    private static NativeLoader.LibcProbe probe(final boolean musl) {
        return new NativeLoader.LibcProbe() {
            @Override
            public NativeLoader.Libc detect() {
                return new NativeLoader.Libc(musl, "injected by the test");
            }
        };
    }

    private static void assertPlatform(String id, String resource, String osName, String osArch,
            NativeLoader.LibcProbe probe) {
        NativeLoader.Platform p = NativeLoader.platform(osName, osArch, probe);
        assertEquals(id, p.id(), osName + " / " + osArch);
        assertEquals(resource, p.resource(), osName + " / " + osArch);
    }

    @Test
    void choosesByOsArchitectureAndLibc() {
        assertPlatform("linux-x86_64", "native/linux-x86_64/libswtls.so", "Linux", "amd64", GLIBC);
        assertPlatform("linux-x86_64", "native/linux-x86_64/libswtls.so", "Linux", "x86_64", GLIBC);
        assertPlatform("linux-x86_64-musl", "native/linux-x86_64-musl/libswtls.so", "Linux", "amd64", MUSL);
        assertPlatform("linux-aarch64", "native/linux-aarch64/libswtls.so", "Linux", "aarch64", GLIBC);
        assertPlatform("linux-aarch64", "native/linux-aarch64/libswtls.so", "Linux", "arm64", GLIBC);
        assertPlatform("linux-aarch64-musl", "native/linux-aarch64-musl/libswtls.so", "Linux", "aarch64", MUSL);
        assertPlatform("osx-aarch64", "native/osx-aarch64/libswtls.dylib", "Mac OS X", "aarch64", NOT_ASKED);
        assertPlatform("osx-x86_64", "native/osx-x86_64/libswtls.dylib", "Mac OS X", "x86_64", NOT_ASKED);
        assertPlatform("windows-x86_64", "native/windows-x86_64/swtls.dll", "Windows 10", "amd64", NOT_ASKED);
        assertPlatform("windows-x86_64", "native/windows-x86_64/swtls.dll", "Windows Server 2019", "AMD64", NOT_ASKED);
        assertPlatform("windows-aarch64", "native/windows-aarch64/swtls.dll", "Windows 11", "aarch64", NOT_ASKED);
        // Others keep their own names, so that the error says what was looked for.
        assertPlatform("linux-riscv64", "native/linux-riscv64/libswtls.so", "Linux", "riscv64", GLIBC);
        assertPlatform("freebsd-x86_64", "native/freebsd-x86_64/libswtls.so", "FreeBSD", "amd64", NOT_ASKED);
        assertPlatform("sunos-sparcv9", "native/sunos-sparcv9/libswtls.so", "SunOS", "sparcv9", NOT_ASKED);
    }

    @Test
    void everyKnownPlatformIsOneTheLoaderCanChoose() {
        assertEquals(Arrays.asList("linux-x86_64", "linux-aarch64", "linux-x86_64-musl", "linux-aarch64-musl",
                "osx-x86_64", "osx-aarch64", "windows-x86_64", "windows-aarch64"),
                Arrays.asList(NativeLoader.KNOWN_PLATFORMS));
        for (String os : new String[] {"Linux", "Mac OS X", "Windows 10"}) {
            for (String arch : new String[] {"amd64", "aarch64"}) {
                for (NativeLoader.LibcProbe libc : new NativeLoader.LibcProbe[] {GLIBC, MUSL}) {
                    String id = NativeLoader.platform(os, arch, libc).id();
                    assertTrue(Arrays.asList(NativeLoader.KNOWN_PLATFORMS).contains(id), id);
                }
            }
        }
    }

    private static NativeLoader.Libc fromMaps(String... lines) throws Exception {
        return NativeLoader.libcFromMaps(new BufferedReader(new StringReader(String.join("\n", lines))));
    }

    @Test
    void libcFromTheLibrariesMappedIntoTheProcess() throws Exception {
        // Debian 12 (glibc 2.36): the JVM with its libc.so.6 and loader.
        NativeLoader.Libc debian = fromMaps(
                "55d0c0a00000-55d0c0a01000 r--p 00000000 fe:00 1051 /usr/lib/jvm/java-17-openjdk-amd64/bin/java",
                "7f3a10000000-7f3a10021000 rw-p 00000000 00:00 0 ",
                "7fbf0c073000-7fbf0c099000 r--p 00000000 fe:00 326269                     /usr/lib/x86_64-linux-gnu/libc.so.6",
                "7fbf0c302000-7fbf0c303000 r--p 00000000 fe:00 325835                     /usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2",
                "7ffd5e8f0000-7ffd5e911000 rw-p 00000000 00:00 0                          [stack]");
        assertNotNull(debian);
        assertFalse(debian.musl);
        assertTrue(debian.evidence.contains("/usr/lib/x86_64-linux-gnu/libc.so.6"), debian.evidence);

        // CentOS 7 (glibc 2.17) names the file by its version.
        NativeLoader.Libc centos = fromMaps(
                "7f2c4a9d6000-7f2c4ab99000 r-xp 00000000 fd:00 33588 /usr/lib64/libc-2.17.so",
                "7f2c4b21c000-7f2c4b23e000 r-xp 00000000 fd:00 33581 /usr/lib64/ld-2.17.so");
        assertNotNull(centos);
        assertFalse(centos.musl);

        // Alpine: musl's loader is its libc too; libz and the JVM's own libraries do not count.
        NativeLoader.Libc alpine = fromMaps(
                "7f9d1c5a1000-7f9d1c5b0000 r-xp 00000000 08:01 2364 /usr/lib/jvm/java-17-openjdk/lib/server/libjvm.so",
                "7f9d1c6e2000-7f9d1c6f6000 r-xp 00000000 08:01 1203 /lib/libz.so.1.3.1",
                "7f9d1c777000-7f9d1c7c4000 r-xp 00014000 08:01 1170 /lib/ld-musl-x86_64.so.1");
        assertNotNull(alpine);
        assertTrue(alpine.musl);
        assertTrue(alpine.evidence.contains("/lib/ld-musl-x86_64.so.1"), alpine.evidence);

        // A glibc program on a musl host (gcompat maps both): musl is what the process runs on.
        NativeLoader.Libc both = fromMaps(
                "7f0000000000-7f0000001000 r-xp 00000000 08:01 1 /lib/libc.so.6",
                "7f0000100000-7f0000101000 r-xp 00000000 08:01 2 /lib/ld-musl-aarch64.so.1");
        assertTrue(both.musl);

        // Neither (no paths at all, or unrelated libraries): undecided, the caller falls back.
        assertNull(fromMaps());
        assertNull(fromMaps("7f0000000000-7f0000001000 r-xp 00000000 08:01 1 /usr/lib/libcrypto.so.3",
                "7ffd5e8f0000-7ffd5e911000 rw-p 00000000 00:00 0 [stack]"));
    }

    @Test
    void libcFromTheLoadersOnDiskWithoutProc(@TempDir Path lib) throws Exception {
        NativeLoader.Libc none = NativeLoader.libcFromLoaders(lib.toFile());
        assertFalse(none.musl);
        assertTrue(none.evidence.contains(lib.toString()), none.evidence);
        Files.createFile(lib.resolve("ld-linux-x86-64.so.2"));
        assertFalse(NativeLoader.libcFromLoaders(lib.toFile()).musl);
        Files.createFile(lib.resolve("ld-musl-x86_64.so.1"));
        NativeLoader.Libc musl = NativeLoader.libcFromLoaders(lib.toFile());
        assertTrue(musl.musl);
        assertTrue(musl.evidence.contains("ld-musl-x86_64.so.1"), musl.evidence);
        assertFalse(NativeLoader.libcFromLoaders(lib.resolve("absent").toFile()).musl);
    }

    /** An independent witness: glibc's ldd prints its version, musl's prints "musl libc". */
    @Test
    void detectsThisHostsLibc() throws Exception {
        assumeTrue(System.getProperty("os.name").startsWith("Linux"), "Linux only");
        Process p;
        try {
            p = new ProcessBuilder("ldd", "--version").redirectErrorStream(true).start();
        } catch (java.io.IOException e) {
            assumeTrue(false, "no ldd on this host: " + e);
            return;
        }
        String out = TestCerts.readAll(p.getInputStream());
        p.waitFor();
        boolean musl = out.toLowerCase(java.util.Locale.ROOT).contains("musl");
        assumeTrue(musl || out.contains("GNU") || out.contains("GLIBC"), "ldd --version said: " + out);
        NativeLoader.Libc detected = NativeLoader.detectLibc();
        assertEquals(musl, detected.musl, detected.evidence + "; ldd --version said: " + out);
        assertTrue(detected.evidence.contains("mapped into this process"), detected.evidence);
    }

    /** A folder laid out as a jar's resources, with a library file for each given platform. */
    private static NativeLoader.Resources jarWith(Path root, String... platforms) throws Exception {
        for (String p : platforms) {
            Path f = root.resolve(NativeLoader.resource(p));
            Files.createDirectories(f.getParent());
            Files.write(f, new byte[] {0x7f, 'E', 'L', 'F'});
        }
        final URLClassLoader cl = new URLClassLoader(new URL[] {root.toUri().toURL()}, null);
        return new NativeLoader.Resources() {
            @Override
            public URL find(String name) {
                return cl.findResource(name);
            }
        };
    }

    @Test
    void aMissingPlatformSaysWhatWasLookedForWhatTheJarCarriesAndHowToSupplyOne(@TempDir Path root)
            throws Exception {
        NativeLoader.Resources jar = jarWith(root, "linux-x86_64", "osx-aarch64");
        NativeLoader.Platform musl = NativeLoader.platform("Linux", "amd64", MUSL);
        assertNull(jar.find(musl.resource()));
        assertNotNull(jar.find(NativeLoader.platform("Linux", "amd64", GLIBC).resource()));
        List<String> carried = NativeLoader.carried(jar);
        assertEquals(Arrays.asList("native/linux-x86_64/libswtls.so", "native/osx-aarch64/libswtls.dylib"), carried);

        String m = NativeLoader.notFound(musl, carried, "no swtls in java.library.path: /nowhere");
        for (String part : new String[] {
            "no native library for this platform, linux-x86_64-musl",
            "os.name=Linux, os.arch=amd64, libc musl: injected by the test",
            "The jar carries native/linux-x86_64/libswtls.so, native/osx-aarch64/libswtls.dylib,"
                    + " not native/linux-x86_64-musl/libswtls.so",
            "System.loadLibrary(\"swtls\") found none either (no swtls in java.library.path: /nowhere)",
            "Supply a library built for linux-x86_64-musl with the jni feature",
            "-Dswtls.library.path=", "SWTLS_LIBRARY", "java.library.path as libswtls.so",
            "add it to the jar as native/linux-x86_64-musl/libswtls.so",
        }) {
            assertTrue(m.contains(part), "expected \"" + part + "\" in: " + m);
        }

        String windows = NativeLoader.notFound(NativeLoader.platform("Windows 10", "amd64", NOT_ASKED),
                NativeLoader.carried(jarWith(root.resolve("empty"))), "none");
        assertTrue(windows.contains("platform, windows-x86_64 (os.name=Windows 10, os.arch=amd64)"), windows);
        assertTrue(windows.contains("The jar carries no native library (nothing under native/), not"
                + " native/windows-x86_64/swtls.dll"), windows);
        assertTrue(windows.contains("java.library.path as swtls.dll"), windows);
    }

    /**
     * The whole path in a fresh JVM that claims another architecture: its folder is not in
     * the jar (this build's classes carry linux-x86_64 only), nor on java.library.path.
     */
    @Test
    void loadingOnAPlatformTheJarLacksFailsWithThatError(@TempDir Path empty) throws Exception {
        assumeTrue(System.getProperty("os.name").startsWith("Linux"), "Linux only");
        Subprocess.Result r = Subprocess.run(Arrays.asList("-Dos.arch=riscv64", "-Djava.library.path=" + empty),
                Collections.<String, String>emptyMap(), "version");
        assertEquals(1, r.exit, r.output);
        for (String part : new String[] {
            "java.lang.UnsatisfiedLinkError: swtls: no native library for this platform, linux-riscv64",
            "os.name=Linux, os.arch=riscv64, libc ",
            "The jar carries native/linux-x86_64/libswtls.so, not native/linux-riscv64/libswtls.so",
            "System.loadLibrary(\"swtls\") found none either (no swtls in java.library.path",
            empty.toString(),
            "-Dswtls.library.path=",
            "SWTLS_LIBRARY",
        }) {
            assertTrue(r.output.contains(part), "expected \"" + part + "\" in: " + r.output);
        }
    }

    @Test
    void extractsIntoADirectoryOnlyTheOwnerMayEnter() throws Exception {
        assumeTrue(FileSystems.getDefault().supportedFileAttributeViews().contains("posix"),
                "the file system has no POSIX permissions");
        byte[] content = new byte[200000];
        for (int i = 0; i < content.length; i++) {
            content[i] = (byte) (i * 31);
        }
        File first = NativeLoader.extract(new ByteArrayInputStream(content), "libswtls-test.so");
        File second = NativeLoader.extract(new ByteArrayInputStream(content), "libswtls-test.so");
        try {
            Path dir = first.getParentFile().toPath();
            Set<PosixFilePermission> ownerOnly = PosixFilePermissions.fromString("rwx------");
            assertEquals(ownerOnly, Files.getPosixFilePermissions(dir), "directory " + dir);
            assertEquals(ownerOnly, Files.getPosixFilePermissions(first.toPath()), "file " + first);
            assertEquals(Files.getOwner(dir), Files.getOwner(first.toPath()));
            assertArrayEquals(content, Files.readAllBytes(first.toPath()));
            assertEquals(new File(System.getProperty("java.io.tmpdir")).getCanonicalFile(),
                    dir.toFile().getParentFile().getCanonicalFile());
            // Every extraction gets a directory of its own.
            assertNotEquals(first.getParentFile(), second.getParentFile());
        } finally {
            for (File f : new File[] {first, second}) {
                Files.deleteIfExists(f.toPath());
                Files.deleteIfExists(f.getParentFile().toPath());
            }
        }
    }
}
