/* libgit2's CA certificates, read when a TLS connection needs them rather
 * than when libgit2 starts.
 *
 * Why: git_libgit2_init (libgit2 1.5 with mbedTLS, Debian's) parses the
 * whole system CA bundle (/etc/ssl/certs/ca-certificates.crt, about 140
 * certificates: 6 ms of CPU) in every process, though most (a plan, a
 * build) only read local repositories; libgit2 1.5 has no option to skip
 * it. gitwatch/tlscerts.c defines mbedtls_x509_crt_parse_file,
 * mbedtls_x509_crt_free and mbedtls_ssl_setup in the executable, where
 * libgit2's calls find them first: the parse of a file is remembered
 * instead of done, and done (by mbedTLS's own function, into the same
 * certificate chain libgit2 configured) before the first TLS session is
 * set up; a chain freed meanwhile is forgotten. Certificates are thus
 * always read before a server's is verified, and a failure to read them
 * fails verification as an absent bundle would. libgit2 is mbedTLS's only
 * user in shipyard (libcurl uses OpenSSL). */
#ifndef GITWATCH_TLSCERTS_H
#define GITWATCH_TLSCERTS_H

/* Returns 1 while a certificate file libgit2 gave waits to be read, else 0. */
int gitwatch_tls_certs_deferred(void);

/* Reads the certificate file that waits, if any (mbedtls_ssl_setup does
 * first). Returns 0, or mbedTLS's negative error code (the chain then holds
 * what could be read). Thread-safe. */
int gitwatch_tls_certs_load(void);

#endif
