/* rootpath.h: a path as a container sees it in its image.
 *
 * A container resolves "/usr/include/x.h" inside its image's root
 * filesystem: an absolute symlink there points into the image, not into
 * the host, and ".." stops at the image's root.  The host sees the same
 * files under the image's checkout (STORE/rootfs/HEX), where an absolute
 * symlink would lead out into the host's own tree.  So before the host
 * looks at an image path, the path is resolved here the way the container
 * resolves it, and the host is given a path without symlinks.
 *
 * Only the image's own files are looked at: mounts the container adds on
 * top (tmpfs, binds) are the caller's business.  Reads link targets with
 * readlinkat, component by component, so no kernel feature beyond that is
 * needed; nothing is opened for reading or written.
 */
#ifndef OHR_IMAGE_ROOTPATH_H
#define OHR_IMAGE_ROOTPATH_H

#include <stddef.h>

#include "util/error.h"

/* Symlinks followed before resolution gives up (the kernel's limit). */
#define ROOTPATH_MAX_LINKS 40

/* Resolve path (absolute, len bytes, no NUL inside) inside the image whose
 * root directory is open at root_fd.  *out: the resolved absolute path as
 * the container names it ("/usr/lib/x86_64-linux-gnu/libz.so.1.2.13"),
 * symlinks and "." and ".." resolved up to the first component that does
 * not exist (or is not a directory where one is needed); the rest is
 * appended as the script printed it, so the host fails to find it where
 * the container did.  Returns 0, or negative: ELOOP (more than
 * ROOTPATH_MAX_LINKS links), ENAMETOOLONG (beyond PATH_MAX), EINVAL (not
 * absolute, or a NUL byte), or the errno of a failed readlinkat. */
int rootpath_resolve (int root_fd, const char *path, size_t len, char **out,
                      ohr_error_t *err);

#endif
