package org.apache.skywalking.swtls;

import java.io.File;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.channels.Channels;
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
 *   <li>the copy inside the jar, {@code /native/<os>-<arch>/<library file>}, extracted to a
 *       new temporary directory that only the current user may enter (see {@link #extract});</li>
 *   <li>{@code System.loadLibrary("swtls")} ({@code java.library.path}).</li>
 * </ol>
 */
final class NativeLoader {
    static final String PROPERTY = "swtls.library.path";
    static final String ENV = "SWTLS_LIBRARY";
    /** The extracted library's directory and file: read, write and execute for the owner alone. */
    static final String OWNER_ONLY = "rwx------";

    private NativeLoader() {}

    /** {@code linux-x86_64}, {@code macos-aarch64}, {@code windows-x86_64}, ... */
    static String platform() {
        String os = System.getProperty("os.name", "").toLowerCase(Locale.ROOT);
        String arch = System.getProperty("os.arch", "").toLowerCase(Locale.ROOT);
        if (os.startsWith("linux")) {
            os = "linux";
        } else if (os.startsWith("mac") || os.startsWith("darwin")) {
            os = "macos";
        } else if (os.startsWith("windows")) {
            os = "windows";
        }
        if (arch.equals("amd64") || arch.equals("x86_64")) {
            arch = "x86_64";
        } else if (arch.equals("arm64") || arch.equals("aarch64")) {
            arch = "aarch64";
        }
        return os + "-" + arch;
    }

    static synchronized void load() {
        String fileName = System.mapLibraryName("swtls");
        List<String> tried = new ArrayList<String>();

        String explicit = System.getProperty(PROPERTY);
        String source = "system property " + PROPERTY;
        if (explicit == null || explicit.isEmpty()) {
            explicit = System.getenv(ENV);
            source = "environment variable " + ENV;
        }
        if (explicit != null && !explicit.isEmpty()) {
            File f = new File(explicit);
            if (f.isDirectory()) {
                f = new File(f, fileName);
            }
            if (!f.isFile()) {
                throw new UnsatisfiedLinkError("swtls: " + source + " names " + f.getAbsolutePath()
                        + ", which does not exist (it should be the library file " + fileName
                        + " built by `cargo build --release --lib --features jni`, or its directory)");
            }
            loadChecked(f.getAbsolutePath(), source);
            return;
        }

        String resource = "/native/" + platform() + "/" + fileName;
        InputStream in = NativeLoader.class.getResourceAsStream(resource);
        if (in != null) {
            File extracted;
            try {
                extracted = extract(in, fileName);
            } catch (IOException e) {
                UnsatisfiedLinkError err = new UnsatisfiedLinkError(
                        "swtls: could not extract " + resource + " from the jar to a temporary file: " + e);
                err.initCause(e);
                throw err;
            }
            loadChecked(extracted.getAbsolutePath(), "the jar (" + resource + ")");
            return;
        }
        tried.add("system property " + PROPERTY + " and environment variable " + ENV + ": not set");
        tried.add("jar resource " + resource + ": not in the jar (it was built without the library for " + platform() + ")");

        try {
            System.loadLibrary("swtls");
        } catch (UnsatisfiedLinkError e) {
            tried.add("System.loadLibrary(\"swtls\") on java.library.path=" + System.getProperty("java.library.path")
                    + ": " + e.getMessage());
            throw new UnsatisfiedLinkError("swtls: native library not found; tried: " + String.join("; ", tried)
                    + ". Build it with `cargo build --release --lib --features jni` and set " + PROPERTY
                    + " (or " + ENV + ") to target/release/" + fileName + ", or build the jar with it inside");
        }
        verify("java.library.path");
    }

    private static void loadChecked(String path, String source) {
        System.load(path);
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
