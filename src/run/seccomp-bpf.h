/* seccomp-bpf.h: the seccomp profile (seccomp.h) compiled to the BPF
 * program the kernel loads, once, and kept in the cache directory.
 *
 * crun compiles "linux.seccomp" with libseccomp on every run, and that is
 * a millisecond or more of its start on the critical path (the container
 * waits for it), since Debian's crun is built without the checksum cache
 * crun has for it.  crun also takes the program ready-made, base64, in the
 * annotation "run.oci.seccomp_bpf_data" (crun(1)), in which case it keeps
 * only the section's "flags".  So the runner compiles the same profile
 * with the same libseccomp, the same calls in the same order as crun 1.8
 * (libcrun/seccomp.c), and hands crun the program: the filter the kernel
 * loads is byte for byte the one crun would have made (test-seccomp-bpf
 * compares them).  config.json keeps the OCI section: runc compiles it,
 * and it says what the program is.
 *
 * libseccomp is opened with dlopen() only to compile, that is once per
 * profile, kernel and libseccomp build: a run that finds the program in
 * the cache loads no more libraries than before.  Each cache entry holds
 * the key it was made for (libseccomp's file identity, the kernel's uname,
 * the profile's JSON) and is used only when the whole key matches.
 */
#ifndef OHR_SECCOMP_BPF_H
#define OHR_SECCOMP_BPF_H

#include "util/error.h"

/* The annotation crun reads the program from. */
#define SECCOMP_BPF_ANNOTATION "run.oci.seccomp_bpf_data"

/* profile_json: the "seccomp" object as seccomp_profile_json writes it.  1 and
 * *out_b64 (the program, base64) when it is in cache_dir or could be made
 * and stored there (cache_dir NULL: made, not stored); 0 and *out_why (a
 * static string) when it cannot be made here (no libseccomp, a profile
 * feature this compiler does not take): the runtime then compiles the
 * section itself, as before; -1 when memory runs out. */
int seccomp_bpf_get (const char *cache_dir, const char *profile_json,
                     char **out_b64, const char **out_why, ohr_error_t *err);

/* The "seccomp" object's text, {...}, for the profile without the
 * restrictions on the calls in allowed (seccomp_gen's argument): the key
 * of the program, and what spec_generate puts in config.json as it is
 * (struct spec_input's seccomp_json), so that the runtime's section and
 * the program come from the same text; NULL when memory runs out. */
char *seccomp_profile_json (char *const *allowed);

#endif
