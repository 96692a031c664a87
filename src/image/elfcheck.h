/* elfcheck.h: which glibc a program needs, and which glibc an image has.
 *
 * A build script linked on a newer host than the image's libc fails inside
 * the container with "version `GLIBC_2.38' not found"; comparing the two
 * first lets the runner say so before it starts anything.
 *
 * Both read what the dynamic loader reads, through the program headers
 * (PT_DYNAMIC: DT_VERNEED, DT_VERDEF, DT_STRTAB), so a binary whose
 * section headers were stripped is still understood.  Files are untrusted:
 * every offset, size and count is checked against the file and bounded,
 * nothing is mapped, and only little-endian ELF64 is accepted.
 */
#ifndef OHR_ELFCHECK_H
#define OHR_ELFCHECK_H

#include <stdbool.h>

#include "util/error.h"

/* The highest GLIBC_x.y version the ELF64 file at elf_path requires (its
 * .gnu.version_r, DT_VERNEED, from any glibc library: libc.so.6, libm.so.6,
 * ld-linux...).  0.0 when it requires none: static, static-pie, or no
 * versioned glibc symbol.  Errors: OHR_ERR_NOTFOUND when the file does not
 * exist, OHR_ERR_NOEXEC when it is not a readable, well-formed ELF64. */
int elfcheck_glibc_needs (const char *elf_path, int *out_major, int *out_minor,
                          ohr_error_t *err);

/* The glibc version of the root filesystem at rootfs: the highest
 * GLIBC_x.y its libc.so.6 defines (.gnu.version_d, DT_VERDEF).  libc.so.6 is
 * looked for in usr/lib/x86_64-linux-gnu, lib/x86_64-linux-gnu, usr/lib64,
 * lib64, usr/lib and lib; symlinks are followed inside rootfs only (an
 * absolute target is relative to rootfs, a ".." above it is refused).
 * Errors are OHR_ERR_IMAGE. */
int elfcheck_libc_version (const char *rootfs, int *out_major, int *out_minor,
                           ohr_error_t *err);

/* The same for an already opened file: fd is only read (pread). */
int elfcheck_glibc_needs_fd (int fd, const char *name, int *out_major,
                             int *out_minor, ohr_error_t *err);
int elfcheck_glibc_defines_fd (int fd, const char *name, int *out_major,
                               int *out_minor, ohr_error_t *err);

/* "GLIBC_2.34" -> 2, 34 (also "GLIBC_2.2.5" -> 2, 2); false for anything
 * else ("GLIBC_PRIVATE", "GLIBC_ABI_DT_RELR", "GLIBCXX_3.4"). */
bool elfcheck_parse_glibc_version (const char *name, int *major, int *minor);

#endif
