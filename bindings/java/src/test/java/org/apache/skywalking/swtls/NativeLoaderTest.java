package org.apache.skywalking.swtls;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.ByteArrayInputStream;
import java.io.File;
import java.nio.file.FileSystems;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Set;
import org.junit.jupiter.api.Test;

/** Extracting the library from the jar: a private directory, a file no one else may write. */
class NativeLoaderTest {
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
