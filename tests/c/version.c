/* Built by .ci/test-install.sh against an installed swtls (`make install`) with nothing but
 * the flags of `pkg-config swtls`: prints the library's version and checks that the header
 * it was compiled with and the library it runs with are the same version. */
#include <stdio.h>
#include <swtls.h>

int main(void) {
    unsigned header = SWTLS_VERSION_NUMBER, library = swtls_version_number();
    printf("%s (number %u, header %d.%d.%d)\n", swtls_version(), library, SWTLS_VERSION_MAJOR, SWTLS_VERSION_MINOR,
           SWTLS_VERSION_PATCH);
    if (library != header) {
        fprintf(stderr, "header and library differ: SWTLS_VERSION_NUMBER %u, swtls_version_number() %u\n", header,
                library);
        return 1;
    }
    return 0;
}
