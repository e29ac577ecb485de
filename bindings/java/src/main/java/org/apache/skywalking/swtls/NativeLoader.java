package org.apache.skywalking.swtls;

import java.io.File;
import java.io.FileOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * Loads the native library, first match wins:
 * <ol>
 *   <li>the file (or directory holding it) named by the system property
 *       {@code swtls.library.path}, else by the environment variable {@code SWTLS_LIBRARY};</li>
 *   <li>the copy inside the jar, {@code /native/<os>-<arch>/<library file>}, extracted to a
 *       temporary file;</li>
 *   <li>{@code System.loadLibrary("swtls")} ({@code java.library.path}).</li>
 * </ol>
 */
final class NativeLoader {
    static final String PROPERTY = "swtls.library.path";
    static final String ENV = "SWTLS_LIBRARY";

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

    private static File extract(InputStream in, String fileName) throws IOException {
        try {
            File dir = File.createTempFile("swtls-", "");
            if (!dir.delete() || !dir.mkdir()) {
                throw new IOException("cannot create the directory " + dir);
            }
            dir.deleteOnExit();
            File out = new File(dir, fileName);
            out.deleteOnExit();
            OutputStream os = new FileOutputStream(out);
            try {
                byte[] buf = new byte[1 << 16];
                int n;
                while ((n = in.read(buf)) > 0) {
                    os.write(buf, 0, n);
                }
            } finally {
                os.close();
            }
            return out;
        } finally {
            in.close();
        }
    }
}
