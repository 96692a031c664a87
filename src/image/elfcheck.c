/* elfcheck.c: see elfcheck.h.
 *
 * Reads with pread at checked offsets: the ELF header, the program headers,
 * the dynamic segment, then the version records one at a time, each located
 * through the PT_LOAD segment that maps it (what ld.so does).  Every count
 * and chain is bounded, so a crafted file cannot make us loop or allocate
 * without limit. */
#define _GNU_SOURCE
#include "image/elfcheck.h"

#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/cleanup.h"

/* Limits far above anything a real binary has. */
#define MAX_PHDRS 4096
#define MAX_DYN 65536
#define MAX_VERSION_RECORDS 65536
#define MAX_NAME 128
#define MAX_SYMLINKS 40
#define MAX_DEPTH 256

struct elf
{
  int fd;
  const char *name;
  uint64_t size;
  Elf64_Phdr *phdrs;
  size_t phnum;
  /* from PT_DYNAMIC */
  uint64_t strtab, strsz; /* virtual address and size of the string table */
  uint64_t verneed, verneednum, verdef, verdefnum;
  int kind; /* error kind for this file */
};

static int
corrupt (struct elf *e, ohr_error_t *err, const char *what)
{
  return ohr_error_set (err, 0, e->kind, "'%s': corrupt or truncated ELF: %s",
                        e->name, what);
}

/* Read exactly len bytes at off, which must lie inside the file. */
static int
read_at (struct elf *e, uint64_t off, void *buf, size_t len, ohr_error_t *err)
{
  if (off > e->size || len > e->size - off)
    return corrupt (e, err, "data beyond the end of the file");
  size_t done = 0;
  while (done < len)
    {
      ssize_t n
          = pread (e->fd, (char *)buf + done, len - done, (off_t)(off + done));
      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0)
        return ohr_error_errno (err, errno, e->kind, "read '%s'", e->name);
      if (n == 0)
        return corrupt (e, err, "file shrank while being read");
      done += (size_t)n;
    }
  return 0;
}

/* File offset of [vaddr, vaddr + len) through the PT_LOAD that maps it
 * from the file. */
static int
vaddr_to_off (struct elf *e, uint64_t vaddr, uint64_t len, uint64_t *out,
              ohr_error_t *err)
{
  for (size_t i = 0; i < e->phnum; i++)
    {
      const Elf64_Phdr *p = &e->phdrs[i];
      if (p->p_type != PT_LOAD || vaddr < p->p_vaddr)
        continue;
      uint64_t rel = vaddr - p->p_vaddr;
      if (rel > p->p_filesz || len > p->p_filesz - rel)
        continue;
      if (p->p_offset > UINT64_MAX - rel)
        continue;
      *out = p->p_offset + rel;
      return 0;
    }
  return corrupt (e, err, "an address outside every loaded segment");
}

static int
read_vaddr (struct elf *e, uint64_t vaddr, void *buf, size_t len,
            ohr_error_t *err)
{
  uint64_t off = 0;
  int ret = vaddr_to_off (e, vaddr, len, &off, err);
  if (ret < 0)
    return ret;
  return read_at (e, off, buf, len, err);
}

/* The NUL-terminated string at index idx of the dynamic string table, at
 * most MAX_NAME - 1 bytes; a longer one is returned truncated and flagged,
 * which is fine: no glibc version name is that long. */
static int
read_string (struct elf *e, uint64_t idx, char out[MAX_NAME], ohr_error_t *err)
{
  if (idx >= e->strsz)
    return corrupt (e, err, "a name outside the string table");
  uint64_t n = e->strsz - idx;
  if (n > MAX_NAME - 1)
    n = MAX_NAME - 1;
  if (e->strtab > UINT64_MAX - idx)
    return corrupt (e, err, "string table address overflows");
  int ret = read_vaddr (e, e->strtab + idx, out, (size_t)n, err);
  if (ret < 0)
    return ret;
  out[n] = '\0';
  if (strnlen (out, n) == n && n < MAX_NAME - 1)
    return corrupt (e, err,
                    "an unterminated name at the end of the string "
                    "table");
  return 0;
}

static void
elf_release (struct elf *e)
{
  free (e->phdrs);
  e->phdrs = NULL;
}

/* Header, program headers and the dynamic segment's version entries.  A
 * file without PT_DYNAMIC (static) leaves them all 0. */
static int
elf_load (struct elf *e, ohr_error_t *err)
{
  struct stat st;
  if (fstat (e->fd, &st) < 0)
    return ohr_error_errno (err, errno, e->kind, "stat '%s'", e->name);
  if (!S_ISREG (st.st_mode))
    return ohr_error_set (err, 0, e->kind, "'%s' is not a regular file",
                          e->name);
  e->size = (uint64_t)st.st_size;

  if (e->size < sizeof (Elf64_Ehdr))
    {
      unsigned char magic[SELFMAG];
      if (e->size >= SELFMAG && pread (e->fd, magic, SELFMAG, 0) == SELFMAG
          && memcmp (magic, ELFMAG, SELFMAG) == 0)
        return corrupt (e, err, "shorter than an ELF header");
      return ohr_error_set (err, 0, e->kind, "'%s' is not an ELF file",
                            e->name);
    }
  Elf64_Ehdr eh;
  int ret = read_at (e, 0, &eh, sizeof eh, err);
  if (ret < 0)
    return ret;
  if (memcmp (eh.e_ident, ELFMAG, SELFMAG) != 0)
    return ohr_error_set (err, 0, e->kind, "'%s' is not an ELF file", e->name);
  if (eh.e_ident[EI_CLASS] != ELFCLASS64)
    return ohr_error_set (err, 0, e->kind,
                          "'%s' is not a 64-bit ELF file (class %d)", e->name,
                          eh.e_ident[EI_CLASS]);
  if (eh.e_ident[EI_DATA] != ELFDATA2LSB)
    return ohr_error_set (err, 0, e->kind,
                          "'%s' is not a little-endian ELF file", e->name);
  if (eh.e_type != ET_EXEC && eh.e_type != ET_DYN)
    return ohr_error_set (err, 0, e->kind,
                          "'%s' is not an executable or shared object (ELF "
                          "type %u)",
                          e->name, eh.e_type);
  if (eh.e_phnum == 0)
    return 0;
  if (eh.e_phentsize != sizeof (Elf64_Phdr))
    return corrupt (e, err, "unexpected program header size");
  if (eh.e_phnum > MAX_PHDRS)
    return corrupt (e, err, "too many program headers");

  e->phnum = eh.e_phnum;
  e->phdrs = calloc (e->phnum, sizeof (Elf64_Phdr));
  if (e->phdrs == NULL)
    return ohr_error_nomem (err);
  ret = read_at (e, eh.e_phoff, e->phdrs, e->phnum * sizeof (Elf64_Phdr), err);
  if (ret < 0)
    return ret;

  const Elf64_Phdr *dyn = NULL;
  for (size_t i = 0; i < e->phnum; i++)
    if (e->phdrs[i].p_type == PT_DYNAMIC)
      {
        if (dyn != NULL)
          return corrupt (e, err, "two PT_DYNAMIC segments");
        dyn = &e->phdrs[i];
      }
  if (dyn == NULL)
    return 0;

  uint64_t n = dyn->p_filesz / sizeof (Elf64_Dyn);
  if (n > MAX_DYN)
    return corrupt (e, err, "dynamic segment too large");
  bool have_strtab = false, have_strsz = false;
  for (uint64_t i = 0; i < n; i++)
    {
      Elf64_Dyn d;
      if (dyn->p_offset > UINT64_MAX - i * sizeof d)
        return corrupt (e, err, "dynamic segment offset overflows");
      ret = read_at (e, dyn->p_offset + i * sizeof d, &d, sizeof d, err);
      if (ret < 0)
        return ret;
      if (d.d_tag == DT_NULL)
        break;
      switch (d.d_tag)
        {
        case DT_STRTAB:
          e->strtab = d.d_un.d_ptr;
          have_strtab = true;
          break;
        case DT_STRSZ:
          e->strsz = d.d_un.d_val;
          have_strsz = true;
          break;
        case DT_VERNEED:
          e->verneed = d.d_un.d_ptr;
          break;
        case DT_VERNEEDNUM:
          e->verneednum = d.d_un.d_val;
          break;
        case DT_VERDEF:
          e->verdef = d.d_un.d_ptr;
          break;
        case DT_VERDEFNUM:
          e->verdefnum = d.d_un.d_val;
          break;
        default:
          break;
        }
    }
  if ((e->verneed || e->verdef) && (!have_strtab || !have_strsz))
    return corrupt (e, err, "version records without a string table");
  if (e->verneednum > MAX_VERSION_RECORDS
      || e->verdefnum > MAX_VERSION_RECORDS)
    return corrupt (e, err, "too many version records");
  return 0;
}

static void
consider (const char *name, int *major, int *minor)
{
  int ma, mi;
  if (elfcheck_parse_glibc_version (name, &ma, &mi)
      && (ma > *major || (ma == *major && mi > *minor)))
    {
      *major = ma;
      *minor = mi;
    }
}

/* Follow a chain link: next record at base + step, not wrapping. */
static int
advance (struct elf *e, uint64_t *pos, uint64_t step, ohr_error_t *err)
{
  if (*pos > UINT64_MAX - step)
    return corrupt (e, err, "version record chain overflows");
  *pos += step;
  return 0;
}

static int
scan_verneed (struct elf *e, int *major, int *minor, ohr_error_t *err)
{
  uint64_t pos = e->verneed;
  /* DT_VERNEEDNUM is the count; without it, follow vn_next to its end. */
  uint64_t count = e->verneednum ? e->verneednum : MAX_VERSION_RECORDS;
  size_t records = 0;
  for (uint64_t i = 0; i < count; i++)
    {
      Elf64_Verneed vn;
      int ret = read_vaddr (e, pos, &vn, sizeof vn, err);
      if (ret < 0)
        return ret;
      if (vn.vn_version != VER_NEED_CURRENT)
        return corrupt (e, err, "unknown version-needed record version");
      uint64_t apos = pos;
      ret = advance (e, &apos, vn.vn_aux, err);
      if (ret < 0)
        return ret;
      for (unsigned j = 0; j < vn.vn_cnt; j++)
        {
          if (++records > MAX_VERSION_RECORDS)
            return corrupt (e, err, "too many version records");
          Elf64_Vernaux a;
          ret = read_vaddr (e, apos, &a, sizeof a, err);
          if (ret < 0)
            return ret;
          char name[MAX_NAME];
          ret = read_string (e, a.vna_name, name, err);
          if (ret < 0)
            return ret;
          consider (name, major, minor);
          if (a.vna_next == 0)
            break;
          ret = advance (e, &apos, a.vna_next, err);
          if (ret < 0)
            return ret;
        }
      if (vn.vn_next == 0)
        break;
      ret = advance (e, &pos, vn.vn_next, err);
      if (ret < 0)
        return ret;
    }
  return 0;
}

static int
scan_verdef (struct elf *e, int *major, int *minor, ohr_error_t *err)
{
  uint64_t pos = e->verdef;
  uint64_t count = e->verdefnum ? e->verdefnum : MAX_VERSION_RECORDS;
  for (uint64_t i = 0; i < count; i++)
    {
      Elf64_Verdef vd;
      int ret = read_vaddr (e, pos, &vd, sizeof vd, err);
      if (ret < 0)
        return ret;
      if (vd.vd_version != VER_DEF_CURRENT)
        return corrupt (e, err, "unknown version-definition record version");
      /* The first Verdaux names the version; the others are its parents.
       * The VER_FLG_BASE entry is the soname ("libc.so.6"). */
      if (vd.vd_cnt > 0 && !(vd.vd_flags & VER_FLG_BASE))
        {
          uint64_t apos = pos;
          ret = advance (e, &apos, vd.vd_aux, err);
          if (ret < 0)
            return ret;
          Elf64_Verdaux a;
          ret = read_vaddr (e, apos, &a, sizeof a, err);
          if (ret < 0)
            return ret;
          char name[MAX_NAME];
          ret = read_string (e, a.vda_name, name, err);
          if (ret < 0)
            return ret;
          consider (name, major, minor);
        }
      if (vd.vd_next == 0)
        break;
      ret = advance (e, &pos, vd.vd_next, err);
      if (ret < 0)
        return ret;
    }
  return 0;
}

bool
elfcheck_parse_glibc_version (const char *name, int *major, int *minor)
{
  if (name == NULL || strncmp (name, "GLIBC_", 6) != 0)
    return false;
  const char *p = name + 6;
  int parts[3] = { 0, 0, 0 };
  int n = 0;
  for (;;)
    {
      if (*p < '0' || *p > '9')
        return false;
      long v = 0;
      while (*p >= '0' && *p <= '9')
        {
          v = v * 10 + (*p++ - '0');
          if (v > 9999)
            return false;
        }
      parts[n++] = (int)v;
      if (*p == '\0')
        break;
      if (*p != '.' || n == 3)
        return false;
      p++;
    }
  if (n < 2)
    return false;
  *major = parts[0];
  *minor = parts[1];
  return true;
}

int
elfcheck_glibc_needs_fd (int fd, const char *name, int *out_major,
                         int *out_minor, ohr_error_t *err)
{
  struct elf e = { .fd = fd, .name = name, .kind = OHR_ERR_NOEXEC };
  int major = 0, minor = 0;
  int ret = elf_load (&e, err);
  if (ret >= 0 && e.verneed != 0)
    ret = scan_verneed (&e, &major, &minor, err);
  elf_release (&e);
  if (ret < 0)
    return ret;
  *out_major = major;
  *out_minor = minor;
  return 0;
}

int
elfcheck_glibc_defines_fd (int fd, const char *name, int *out_major,
                           int *out_minor, ohr_error_t *err)
{
  struct elf e = { .fd = fd, .name = name, .kind = OHR_ERR_IMAGE };
  int major = 0, minor = 0;
  int ret = elf_load (&e, err);
  if (ret >= 0 && e.verdef == 0)
    ret = ohr_error_set (err, 0, OHR_ERR_IMAGE,
                         "'%s' defines no symbol versions: not glibc's libc",
                         name);
  if (ret >= 0)
    ret = scan_verdef (&e, &major, &minor, err);
  if (ret >= 0 && major == 0)
    ret = ohr_error_set (err, 0, OHR_ERR_IMAGE,
                         "'%s' defines no GLIBC_x.y version: not glibc's libc",
                         name);
  elf_release (&e);
  if (ret < 0)
    return ret;
  *out_major = major;
  *out_minor = minor;
  return 0;
}

int
elfcheck_glibc_needs (const char *elf_path, int *out_major, int *out_minor,
                      ohr_error_t *err)
{
  cleanup_close int fd = open (elf_path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
  if (fd < 0)
    return ohr_error_errno (
        err, errno, errno == ENOENT ? OHR_ERR_NOTFOUND : OHR_ERR_NOEXEC,
        "open '%s'", elf_path);
  return elfcheck_glibc_needs_fd (fd, elf_path, out_major, out_minor, err);
}

/* ---- opening a path inside a root directory without leaving it */

struct walk
{
  int fds[MAX_DEPTH + 1]; /* fds[0] is the root, never closed here */
  int depth;
};

static void
walk_pop_to (struct walk *w, int depth)
{
  while (w->depth > depth)
    close (w->fds[w->depth--]);
}

/* Open rel (relative to the directory rootfd) for reading, resolving every
 * component ourselves: one openat(O_NOFOLLOW) per component, symlinks read
 * and expanded with "/" meaning rootfd, ".." above rootfd refused.  Returns
 * 0 with *out_fd, 1 when some component does not exist (no error set), or
 * a negative value with *err. */
static int
open_in_root (int rootfd, const char *root_name, const char *rel, int *out_fd,
              ohr_error_t *err)
{
  struct walk w = { .fds = { rootfd }, .depth = 0 };
  cleanup_free char *rest = strdup (rel);
  int links = 0, ret;
  if (rest == NULL)
    return ohr_error_nomem (err);
  char *p = rest;
  for (;;)
    {
      while (*p == '/')
        p++;
      if (*p == '\0')
        {
          ret = ohr_error_set (err, 0, OHR_ERR_IMAGE,
                               "'%s' in '%s' is a directory", rel, root_name);
          goto out;
        }
      char *slash = strchr (p, '/');
      bool last = slash == NULL;
      if (slash)
        *slash = '\0';
      const char *comp = p;
      p = last ? p + strlen (p) : slash + 1;
      if (strcmp (comp, ".") == 0)
        continue;
      if (strcmp (comp, "..") == 0)
        {
          if (w.depth == 0)
            {
              ret = ohr_error_set (err, 0, OHR_ERR_IMAGE,
                                   "'%s' in '%s' leads outside the image "
                                   "(through '..'): refused",
                                   rel, root_name);
              goto out;
            }
          walk_pop_to (&w, w.depth - 1);
          continue;
        }
      int fd = openat (w.fds[w.depth], comp, O_PATH | O_NOFOLLOW | O_CLOEXEC);
      if (fd < 0)
        {
          ret = errno == ENOENT || errno == ENOTDIR
                    ? 1
                    : ohr_error_errno (err, errno, OHR_ERR_IMAGE,
                                       "open '%s' in '%s'", rel, root_name);
          goto out;
        }
      struct stat st;
      if (fstat (fd, &st) < 0)
        {
          ret = ohr_error_errno (err, errno, OHR_ERR_IMAGE,
                                 "stat '%s' in '%s'", rel, root_name);
          close (fd);
          goto out;
        }
      if (S_ISLNK (st.st_mode))
        {
          char target[PATH_MAX];
          ssize_t n = readlinkat (fd, "", target, sizeof target - 1);
          int saved = errno;
          close (fd);
          if (n < 0)
            {
              ret = ohr_error_errno (err, saved, OHR_ERR_IMAGE,
                                     "readlink '%s' in '%s'", comp, root_name);
              goto out;
            }
          target[n] = '\0';
          if (++links > MAX_SYMLINKS)
            {
              ret = ohr_error_set (err, ELOOP, OHR_ERR_IMAGE,
                                   "'%s' in '%s': too many levels of "
                                   "symbolic links",
                                   rel, root_name);
              goto out;
            }
          if (target[0] == '/')
            walk_pop_to (&w, 0);
          char *next = NULL;
          /* no "/" after the last component: "file/" is a directory */
          if ((*p ? asprintf (&next, "%s/%s", target, p)
                  : asprintf (&next, "%s", target))
              < 0)
            {
              ret = ohr_error_nomem (err);
              goto out;
            }
          free (rest);
          rest = next;
          p = rest;
          continue;
        }
      if (S_ISDIR (st.st_mode) && !last)
        {
          if (w.depth == MAX_DEPTH)
            {
              close (fd);
              ret = ohr_error_set (err, 0, OHR_ERR_IMAGE,
                                   "'%s' in '%s': too deep", rel, root_name);
              goto out;
            }
          w.fds[++w.depth] = fd;
          continue;
        }
      close (fd);
      if (!last)
        {
          ret = 1; /* a file used as a directory */
          goto out;
        }
      if (!S_ISREG (st.st_mode))
        {
          ret = ohr_error_set (err, 0, OHR_ERR_IMAGE,
                               "'%s' in '%s' is not a regular file", rel,
                               root_name);
          goto out;
        }
      /* O_NOFOLLOW again: if it was swapped for a symlink since, fail. */
      fd = openat (w.fds[w.depth], comp,
                   O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY);
      if (fd < 0)
        ret = ohr_error_errno (err, errno, OHR_ERR_IMAGE, "open '%s' in '%s'",
                               rel, root_name);
      else
        {
          *out_fd = fd;
          ret = 0;
        }
      goto out;
    }
out:
  walk_pop_to (&w, 0);
  return ret;
}

static const char *const libc_paths[] = {
  "usr/lib/x86_64-linux-gnu/libc.so.6",
  "lib/x86_64-linux-gnu/libc.so.6",
  "usr/lib64/libc.so.6",
  "lib64/libc.so.6",
  "usr/lib/libc.so.6",
  "lib/libc.so.6",
};

int
elfcheck_libc_version (const char *rootfs, int *out_major, int *out_minor,
                       ohr_error_t *err)
{
  cleanup_close int rootfd = open (rootfs, O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (rootfd < 0)
    return ohr_error_errno (err, errno, OHR_ERR_IMAGE, "open image root '%s'",
                            rootfs);
  for (size_t i = 0; i < sizeof libc_paths / sizeof libc_paths[0]; i++)
    {
      cleanup_close int fd = -1;
      int ret = open_in_root (rootfd, rootfs, libc_paths[i], &fd, err);
      if (ret < 0)
        return ret;
      if (ret == 1)
        continue;
      cleanup_free char *name = NULL;
      if (asprintf (&name, "%s/%s", rootfs, libc_paths[i]) < 0)
        return ohr_error_nomem (err);
      return elfcheck_glibc_defines_fd (fd, name, out_major, out_minor, err);
    }
  return ohr_error_set (err, ENOENT, OHR_ERR_IMAGE,
                        "no libc.so.6 in image root '%s' (looked in "
                        "usr/lib/x86_64-linux-gnu, lib/x86_64-linux-gnu, "
                        "usr/lib64, lib64, usr/lib, lib): not a glibc image",
                        rootfs);
}
