/* reapi.h: the build.bazel.remote.execution.v2 messages the result cache
 * stores and exchanges (field numbers from bazelbuild/remote-apis'
 * remote_execution.proto), encoded and decoded with proto.h.
 *
 * An action's key is the digest of its encoded Action, which names the
 * digests of its Command and of its input root (a Directory); its value
 * is an ActionResult naming the Tree of OUT_DIR and the stdout and stderr
 * blobs.  Encoding is canonical (fields in number order, proto3 defaults
 * left out, the lists REAPI wants sorted sorted here), so the same action
 * has the same digest on every machine and a REAPI server accepts it.
 *
 * Decoding reads what a remote cache returned: every node name must be
 * one path component (not empty, ".", "..", nor holding '/' or NUL), a
 * Directory's names sorted and unique, a digest 64 lowercase hex digits
 * with a size >= 0.  Unknown fields are skipped.  Computing digests is
 * left to the caller (cache/key.h): this file needs no libcrypto, so run
 * mode can build a Command.
 */
#ifndef OHR_CACHE_REAPI_H
#define OHR_CACHE_REAPI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "util/buf.h"
#include "util/error.h"

struct reapi_digest
{
  char hash[65]; /* lowercase hex sha256 */
  int64_t size;
};

/* A file's or directory's full mode goes in NodeProperties.unix_mode
 * (the permission bits; REAPI's FileNode alone has only is_executable). */
struct reapi_file
{
  char *name;
  struct reapi_digest digest;
  bool is_executable;
  bool has_mode;
  uint32_t mode;
};

struct reapi_dirnode
{
  char *name;
  struct reapi_digest digest;
};

struct reapi_symlink
{
  char *name;
  char *target;
};

struct reapi_directory
{
  struct reapi_file *files;
  size_t n_files;
  struct reapi_dirnode *dirs;
  size_t n_dirs;
  struct reapi_symlink *symlinks;
  size_t n_symlinks;
  bool has_mode;
  uint32_t mode;
};

struct reapi_tree
{
  struct reapi_directory root;
  struct reapi_directory *children;
  size_t n_children;
};

/* Command.EnvironmentVariable and Platform.Property */
struct reapi_pair
{
  char *name;
  char *value;
};

struct reapi_command
{
  char **arguments; /* NULL-terminated */
  struct reapi_pair *env;
  size_t n_env;
  char **output_directories; /* NULL-terminated */
  struct reapi_pair *platform;
  size_t n_platform;
  char *working_directory; /* may be NULL */
};

struct reapi_action
{
  struct reapi_digest command_digest;
  struct reapi_digest input_root_digest;
  bool do_not_cache;
  struct reapi_pair *platform; /* the Command's, as REAPI v2.2 wants */
  size_t n_platform;
};

struct reapi_output_directory
{
  char *path;
  struct reapi_digest tree_digest;
};

/* An OutputFile: a file the action produced, by path and digest (the
 * result cache names a run's attestation statement this way). */
struct reapi_output_file
{
  char *path;
  struct reapi_digest digest;
};

struct reapi_action_result
{
  struct reapi_output_file *files; /* encoded in this order */
  size_t n_files;
  struct reapi_output_directory *dirs;
  size_t n_dirs;
  int32_t exit_code;
  bool has_stdout, has_stderr;
  struct reapi_digest stdout_digest, stderr_digest;
  /* ExecutedActionMetadata's execution start and end: the run's wall
   * time, which a hit reports as saved */
  bool has_times;
  struct timespec exec_start, exec_end;
};

/* Encoders sort what REAPI wants sorted (in place): a Directory's nodes by
 * name, the environment and the platform properties by name.  Each
 * appends to *out; 0, or -1 with *err (out of memory). */
int reapi_encode_digest (struct buf *out, const struct reapi_digest *d,
                         ohr_error_t *err);
int reapi_encode_directory (struct buf *out, struct reapi_directory *d,
                            ohr_error_t *err);
int reapi_encode_tree (struct buf *out, struct reapi_tree *t,
                       ohr_error_t *err);
int reapi_encode_command (struct buf *out, struct reapi_command *c,
                          ohr_error_t *err);
int reapi_encode_action (struct buf *out, struct reapi_action *a,
                         ohr_error_t *err);
int reapi_encode_action_result (struct buf *out,
                                const struct reapi_action_result *r,
                                ohr_error_t *err);

/* Decoders fill *out (zeroed first) or return -1 with *err (EBADMSG for
 * bad input) and leave nothing allocated. */
int reapi_decode_directory (const void *data, size_t len,
                            struct reapi_directory *out, ohr_error_t *err);
int reapi_decode_tree (const void *data, size_t len, struct reapi_tree *out,
                       ohr_error_t *err);
int reapi_decode_command (const void *data, size_t len,
                          struct reapi_command *out, ohr_error_t *err);
int reapi_decode_action (const void *data, size_t len,
                         struct reapi_action *out, ohr_error_t *err);
int reapi_decode_action_result (const void *data, size_t len,
                                struct reapi_action_result *out,
                                ohr_error_t *err);

/* The output file at path in r, or NULL. */
const struct reapi_output_file *
reapi_result_file (const struct reapi_action_result *r, const char *path);

/* Whether name is one path component a restore may create. */
bool reapi_name_valid (const char *name, size_t len);
/* "sha256:<hex>" (util/digest.h's form) -> d->hash; false when it is not
 * one */
bool reapi_digest_set (struct reapi_digest *d, const char *digest,
                       int64_t size);

void reapi_directory_clear (struct reapi_directory *d);
void reapi_tree_clear (struct reapi_tree *t);
void reapi_command_clear (struct reapi_command *c);
void reapi_action_clear (struct reapi_action *a);
void reapi_action_result_clear (struct reapi_action_result *r);

#endif
