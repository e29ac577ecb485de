package org.apache.skywalking.swtls;

import java.io.BufferedReader;
import java.io.File;
import java.io.FileInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.net.URL;
import java.nio.channels.Channels;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileSystems;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.FileAttribute;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.List;
import java.util.Locale;

/**
 * Loads the native library, first match wins:
 * <ol>
 *   <li>the file (or directory holding it) named by the system property
 *       {@code swtls.library.path}, else by the environment variable {@code SWTLS_LIBRARY};</li>
 *   <li>the copy inside the jar for this platform, {@code native/<platform>/<library file>}
 *       (see {@link Platform}), extracted to a new temporary directory that only the current
 *       user may enter (see {@link #extract});</li>
 *   <li>{@code System.loadLibrary("swtls")} ({@code java.library.path}).</li>
 * </ol>
 * The layout of the jar's {@code native/} folder is described in bindings/java/README.md,
 * "Native libraries in the jar"; keep the two in step.
 */
final class NativeLoader {
    static final String PROPERTY = "swtls.library.path";
    static final String ENV = "SWTLS_LIBRARY";
    /** The extracted library's directory and file: read, write and execute for the owner alone. */
    static final String OWNER_ONLY = "rwx------";
    /** The folder of the jar that holds one folder per platform. */
    static final String RESOURCE_DIR = "native";
    /**
     * The platforms a jar may carry a library for. The loader looks for its own platform's
     * folder whether listed or not; this list is what it reports as carried when that folder
     * is missing.
     */
    static final String[] KNOWN_PLATFORMS = {
        "linux-x86_64", "linux-aarch64", "linux-x86_64-musl", "linux-aarch64-musl",
        "osx-x86_64", "osx-aarch64", "windows-x86_64", "windows-aarch64",
    };

    private NativeLoader() {}

    /** The C library of this process, and how the loader knows. */
    static final class Libc {
        final boolean musl;
        /** What the decision rests on, for error messages. */
        final String evidence;

        Libc(boolean musl, String evidence) {
            this.musl = musl;
            this.evidence = evidence;
        }
    }

    /** Tells musl from glibc; asked on Linux only. Tests pass their own. */
    interface LibcProbe {
        Libc detect();
    }

    /** Finds a resource by its absolute name (without a leading slash); null when absent. */
    interface Resources {
        URL find(String name);
    }

    /**
     * Where this JVM runs: {@code <os>-<arch>}, plus {@code -musl} on Linux with musl libc.
     * os is {@code linux}, {@code osx} or {@code windows} (else os.name in lower case without
     * spaces); arch is {@code x86_64} or {@code aarch64} (else os.arch in lower case).
     */
    static final class Platform {
        final String os;
        final String arch;
        /** Null off Linux. */
        final Libc libc;
        private final String osName;
        private final String osArch;

        Platform(String osName, String osArch, Libc libc) {
            this.osName = osName;
            this.osArch = osArch;
            this.os = normalizeOs(osName);
            this.arch = normalizeArch(osArch);
            this.libc = libc;
        }

        /** {@code linux-x86_64}, {@code linux-x86_64-musl}, {@code osx-aarch64}, {@code windows-x86_64}, ... */
        String id() {
            return os + "-" + arch + (libc != null && libc.musl ? "-musl" : "");
        }

        /** The library's file name on this platform's OS. */
        String libraryFile() {
            return NativeLoader.libraryFile(os);
        }

        /** The jar resource for this platform, e.g. {@code native/linux-x86_64/libswtls.so}. */
        String resource() {
            return NativeLoader.resource(id());
        }

        /** The system properties and the libc it was derived from, for error messages. */
        String describe() {
            String d = "os.name=" + osName + ", os.arch=" + osArch;
            if (libc != null) {
                d += ", libc " + (libc.musl ? "musl" : "glibc") + ": " + libc.evidence;
            }
            return d;
        }
    }

    static Platform platform(String osName, String osArch, LibcProbe probe) {
        Libc libc = normalizeOs(osName).equals("linux") ? probe.detect() : null;
        return new Platform(osName, osArch, libc);
    }

    static String normalizeOs(String osName) {
        String os = osName.toLowerCase(Locale.ROOT);
        if (os.startsWith("linux")) {
            return "linux";
        } else if (os.startsWith("mac") || os.startsWith("darwin")) {
            return "osx";
        } else if (os.startsWith("windows")) {
            return "windows";
        }
        return os.replaceAll("[^a-z0-9]", "");
    }

    static String normalizeArch(String osArch) {
        String arch = osArch.toLowerCase(Locale.ROOT);
        if (arch.equals("amd64") || arch.equals("x86_64") || arch.equals("x86-64") || arch.equals("x64")) {
            return "x86_64";
        } else if (arch.equals("aarch64") || arch.equals("arm64")) {
            return "aarch64";
        }
        return arch.replaceAll("[^a-z0-9_]", "");
    }

    static String libraryFile(String os) {
        if (os.equals("windows")) {
            return "swtls.dll";
        } else if (os.equals("osx")) {
            return "libswtls.dylib";
        }
        return "libswtls.so";
    }

    static String resource(String platformId) {
        int dash = platformId.indexOf('-');
        String os = dash < 0 ? platformId : platformId.substring(0, dash);
        return RESOURCE_DIR + "/" + platformId + "/" + libraryFile(os);
    }

    /**
     * The C library of this process. The libraries mapped into it ({@code /proc/self/maps})
     * say which one the JVM itself runs on: musl's loader {@code ld-musl-<arch>.so.1} (also
     * its libc), or glibc's {@code libc.so.6} / {@code libc-2.NN.so}. That holds even on
     * hosts that have both installed. Without /proc, a musl loader in /lib means musl.
     */
    static Libc detectLibc() {
        File maps = new File("/proc/self/maps");
        try (BufferedReader r = new BufferedReader(
                new InputStreamReader(new FileInputStream(maps), StandardCharsets.UTF_8))) {
            Libc fromMaps = libcFromMaps(r);
            if (fromMaps != null) {
                return fromMaps;
            }
        } catch (IOException e) {
            // No /proc (or not readable): fall back to the loaders on disk.
        }
        return libcFromLoaders(new File("/lib"));
    }

    /** Musl or glibc from the lines of a {@code /proc/<pid>/maps}; null when neither appears. */
    static Libc libcFromMaps(BufferedReader maps) throws IOException {
        String glibc = null;
        String line;
        while ((line = maps.readLine()) != null) {
            int slash = line.indexOf('/');
            if (slash < 0) {
                continue;
            }
            String path = line.substring(slash).trim();
            String name = path.substring(path.lastIndexOf('/') + 1);
            if (name.startsWith("ld-musl-") || name.startsWith("libc.musl-")) {
                return new Libc(true, path + " is mapped into this process");
            }
            if (glibc == null && (name.equals("libc.so.6") || name.matches("libc-2\\.[0-9]+\\.so"))) {
                glibc = path;
            }
        }
        return glibc == null ? null : new Libc(false, glibc + " is mapped into this process");
    }

    /** Musl when {@code dir} holds a musl loader ({@code ld-musl-<arch>.so.1}), else glibc. */
    static Libc libcFromLoaders(File dir) {
        String[] names = dir.list();
        if (names != null) {
            for (String n : names) {
                if (n.startsWith("ld-musl-") && n.endsWith(".so.1")) {
                    return new Libc(true, "no /proc/self/maps, and " + new File(dir, n) + " exists");
                }
            }
        }
        return new Libc(false, "no /proc/self/maps, and no musl loader (ld-musl-*.so.1) in " + dir);
    }

    /** The platform resources among {@link #KNOWN_PLATFORMS} that {@code resources} holds. */
    static List<String> carried(Resources resources) {
        List<String> found = new ArrayList<String>();
        for (String p : KNOWN_PLATFORMS) {
            String name = resource(p);
            if (resources.find(name) != null) {
                found.add(name);
            }
        }
        return found;
    }

    /** The error when neither the jar nor java.library.path had a library for {@code p}. */
    static String notFound(Platform p, List<String> carried, String loadLibraryFailure) {
        StringBuilder m = new StringBuilder();
        m.append("swtls: no native library for this platform, ").append(p.id())
                .append(" (").append(p.describe()).append("). ");
        if (carried.isEmpty()) {
            m.append("The jar carries no native library (nothing under ").append(RESOURCE_DIR).append("/)");
        } else {
            m.append("The jar carries ").append(String.join(", ", carried));
        }
        m.append(", not ").append(p.resource()).append(". ");
        m.append("System.loadLibrary(\"swtls\") found none either (").append(loadLibraryFailure).append("). ");
        m.append("Supply a library built for ").append(p.id())
                .append(" with the jni feature (`cargo build --release --lib --features jni` on such a host):")
                .append(" name the file, or its folder, with -D").append(PROPERTY).append("=... or the environment variable ")
                .append(ENV).append("; or put it on java.library.path as ").append(p.libraryFile())
                .append("; or add it to the jar as ").append(p.resource());
        return m.toString();
    }

    static synchronized void load() {
        Platform platform = platform(System.getProperty("os.name", ""), System.getProperty("os.arch", ""),
                new LibcProbe() {
                    @Override
                    public Libc detect() {
                        return detectLibc();
                    }
                });
        Resources jar = new Resources() {
            @Override
            public URL find(String name) {
                return NativeLoader.class.getResource("/" + name);
            }
        };

        String explicit = System.getProperty(PROPERTY);
        String source = "system property " + PROPERTY;
        if (explicit == null || explicit.isEmpty()) {
            explicit = System.getenv(ENV);
            source = "environment variable " + ENV;
        }
        if (explicit != null && !explicit.isEmpty()) {
            File f = new File(explicit);
            if (f.isDirectory()) {
                f = new File(f, platform.libraryFile());
            }
            if (!f.isFile()) {
                throw new UnsatisfiedLinkError("swtls: " + source + " names " + f.getAbsolutePath()
                        + ", which does not exist (it should be the library file " + platform.libraryFile()
                        + " built by `cargo build --release --lib --features jni`, or its directory)");
            }
            loadChecked(f.getAbsolutePath(), source, platform);
            return;
        }

        String resource = platform.resource();
        URL url = jar.find(resource);
        if (url != null) {
            File extracted;
            try {
                extracted = extract(url.openStream(), platform.libraryFile());
            } catch (IOException e) {
                UnsatisfiedLinkError err = new UnsatisfiedLinkError(
                        "swtls: could not extract " + resource + " from the jar to a temporary file: " + e);
                err.initCause(e);
                throw err;
            }
            loadChecked(extracted.getAbsolutePath(), "the jar (" + resource + ")", platform);
            return;
        }

        try {
            System.loadLibrary("swtls");
        } catch (UnsatisfiedLinkError e) {
            // Java 8 says "no swtls in java.library.path"; later ones add the path.
            String why = String.valueOf(e.getMessage());
            String path = System.getProperty("java.library.path", "");
            if (!why.contains(path)) {
                why += ": " + path;
            }
            throw new UnsatisfiedLinkError(notFound(platform, carried(jar), why));
        }
        verify("java.library.path");
    }

    private static void loadChecked(String path, String source, Platform platform) {
        try {
            System.load(path);
        } catch (UnsatisfiedLinkError e) {
            UnsatisfiedLinkError err = new UnsatisfiedLinkError("swtls: could not load " + path + " (from " + source
                    + ") on " + platform.id() + " (" + platform.describe() + "): " + e.getMessage());
            err.initCause(e);
            throw err;
        }
        verify(source + ": " + path);
    }

    /** A library built without the jni feature loads but lacks the entry points: say so now. */
    private static void verify(String source) {
        try {
            Native.version();
        } catch (UnsatisfiedLinkError e) {
            throw new UnsatisfiedLinkError("swtls: the library from " + source
                    + " has no JNI entry points: it was built without the `jni` feature;"
                    + " rebuild it with `cargo build --release --lib --features jni`");
        }
    }

    /**
     * Copies the library out of the jar into a new directory that only the current user may
     * enter (where the file system has POSIX permissions), as a file only that user may
     * write, so that no other local user can replace it between extraction and loading.
     */
    static File extract(InputStream in, String fileName) throws IOException {
        try {
            boolean posix = FileSystems.getDefault().supportedFileAttributeViews().contains("posix");
            FileAttribute<?>[] ownerOnly = posix
                    ? new FileAttribute<?>[] {PosixFilePermissions.asFileAttribute(
                            PosixFilePermissions.fromString(OWNER_ONLY))}
                    : new FileAttribute<?>[0];
            // Elsewhere (Windows) the user's temporary directory is already private to the user.
            Path dir = Files.createTempDirectory("swtls-", ownerOnly);
            dir.toFile().deleteOnExit();
            Path out = dir.resolve(fileName);
            out.toFile().deleteOnExit();
            OutputStream os = Channels.newOutputStream(Files.newByteChannel(
                    out, EnumSet.of(StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE), ownerOnly));
            try {
                byte[] buf = new byte[1 << 16];
                int n;
                while ((n = in.read(buf)) > 0) {
                    os.write(buf, 0, n);
                }
            } finally {
                os.close();
            }
            return out.toFile();
        } finally {
            in.close();
        }
    }
}
