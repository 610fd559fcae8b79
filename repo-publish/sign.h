/* Signing what a channel publishes with an OpenPGP key, as Copr, OBS and
 * Koji do: every package (binary and source) gets a header signature
 * (`rpmsign --addsign`), every repodata/repomd.xml a detached armored
 * signature repodata/repomd.xml.asc (`gpg --detach-sign`), and each
 * snapshot the public key as REPO_SIGN_KEY_FILE, so that dnf and tdnf check
 * both with gpgcheck=1 and repo_gpgcheck=1. rpmsign and gpg from Debian 12's
 * rpm and gpg packages are the well-kept path there (librpmsign runs the
 * same gpg through the same macros, from inside our process).
 *
 * The secret key stays where the service configuration or the command line
 * names it: it is imported into a private GNUPGHOME made for one
 * publication in the system's temporary directory (mode 0700), never in the
 * state directory and never inside a sandbox, and repo_signer_close() stops
 * that home's gpg-agent and removes it. rpmsign and gpg run as children
 * (common/child.h) with a clean environment, stdin /dev/null, no pinentry
 * and a deadline.
 *
 * Packages of the artifact store are never changed: snapshots hard-link
 * artifacts, so a package is signed as a copy kept in
 * <state>/signed/<fingerprint>/<sha256>/<file> (state_signed_dir), keyed by
 * the SHA-256 of the package and also by that of the signed copy, and
 * snapshots hard-link the copy. The same package set gives the same files
 * again, whether it comes from artifacts or from a snapshot signed with the
 * same key, so that a publication without changes makes no snapshot. */
#ifndef REPO_PUBLISH_SIGN_H
#define REPO_PUBLISH_SIGN_H

#include "common/error.h"
#include "common/strv.h"

/* The public key's file name in a signed snapshot, served beside its
 * repodata as <baseurl>/RPM-GPG-KEY-shipyard. */
#define REPO_SIGN_KEY_FILE "RPM-GPG-KEY-shipyard"

/* A signing key ready to sign: its private GNUPGHOME, fingerprint and
 * public key. Opened by repo_signer_open, freed by repo_signer_close. */
struct repo_signer;

/* Opens the secret key in key_file (an OpenPGP secret key without a
 * passphrase, armored or binary, as `gpg --export-secret-keys` writes it):
 * makes a private GNUPGHOME under $TMPDIR (when absolute) or /tmp, imports
 * the key, reads its fingerprint and public key, and signs a probe so that a
 * key that cannot sign fails here, before anything is published. key_file
 * must not lie inside state (the state directory, whose repositories are
 * served and whose files builds may be given). Returns 0 and *out (release
 * with repo_signer_close), or -1 with err, one line naming the file:
 * "signing key /etc/k.asc: not an OpenPGP secret key (gpg: no valid OpenPGP
 * data found.)", "...: cannot read: No such file or directory", "...: it
 * holds no secret key", "...: cannot sign: ...", "...: inside the state
 * directory ...". Nothing is left behind on error. */
int repo_signer_open(const char *key_file, const char *state, struct repo_signer **out,
		     struct sy_error *err);

/* The key's fingerprint: 40 upper-case hex digits. Owned by s. */
const char *repo_signer_fingerprint(const struct repo_signer *s);

/* Replaces every path in paths (RPM and SRPM files, read only) by the path
 * of its signed copy under <state>/signed/<fingerprint>/, signing the ones
 * not signed yet with one rpmsign per batch. The file name stays the same.
 * A path that is already such a copy (a file of a snapshot signed with this
 * key) maps to itself. SHA-256 digests of files are remembered in the state
 * database's key/value cache under the file's device, inode, size, mtime and
 * ctime. Returns 0, or -1 with err naming the package and rpmsign's last
 * message; paths is then unchanged. */
int repo_signer_sign_packages(struct repo_signer *s, const char *state, struct sy_strv *paths,
			      struct sy_error *err);

/* Signs the snapshot being made at snapshot, before it is switched to:
 * writes repodata/repomd.xml.asc beside every repodata/repomd.xml (the
 * snapshot's and SRPMS/'s) and the public key as snapshot/REPO_SIGN_KEY_FILE,
 * each fsynced. Returns 0, or -1 with err. */
int repo_signer_sign_snapshot(struct repo_signer *s, const char *snapshot, struct sy_error *err);

/* Stops the gpg-agent of s's GNUPGHOME, removes the directory with the
 * imported key and frees s (NULL allowed). */
void repo_signer_close(struct repo_signer *s);

/* Removes the signed copies under <state>/signed/ that no snapshot or
 * release links to: a copy is kept as two hard links in the cache (the
 * digests of the package and of the copy), so one whose link count is
 * no more than its links in the cache is used by nothing. The caller holds
 * every channel's lock (repo_publish_lock_channel), so that no publication
 * signs or links a copy meanwhile. Appends "<fingerprint>/<file>" to
 * removed (may be NULL) for each copy removed. Returns 0, or -1 with err
 * naming the first file that could not be removed (the others are still
 * tried). */
int repo_signed_collect(const char *state, struct sy_strv *removed, struct sy_error *err);

/* Returns 1 when the snapshot at snapshot (a path, or NULL) is signed: it
 * holds REPO_SIGN_KEY_FILE and repodata/repomd.xml.asc; else 0. */
int repo_sign_snapshot_signed(const char *snapshot);

#endif
