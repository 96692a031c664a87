/* proto.h: the protobuf wire format, as much of it as the REAPI messages
 * of the result cache need (reapi.h): a writer that appends fields to a
 * struct buf, and a reader over bytes that come from a remote cache and
 * are therefore untrusted.
 *
 * Writer: fields go out in the order they are written, so callers write
 * them in field-number order, the way protoc's serializers do, and the
 * bytes (hence every digest over them) are canonical.  The *_opt writers
 * leave out a proto3 default (0, false, "") as protoc does; the others
 * always write (a repeated string may be empty; a present submessage
 * may be empty).
 *
 * Reader: proto_next yields one field at a time; varints longer than 10
 * bytes or overflowing 64 bits, lengths past the end, groups (wire types
 * 3 and 4, unused by proto3) and field number 0 are errors.  A caller
 * skips the fields it does not know by ignoring them.
 */
#ifndef OHR_CACHE_PROTO_H
#define OHR_CACHE_PROTO_H

#include <stddef.h>
#include <stdint.h>

#include "util/buf.h"
#include "util/error.h"

enum proto_wire
{
  PROTO_VARINT = 0,
  PROTO_FIXED64 = 1,
  PROTO_LEN = 2,
  PROTO_FIXED32 = 5,
};

/* Each returns 0, or -1 when out of memory (or past the buffer's max). */
int proto_put_varint (struct buf *b, uint64_t v);
int proto_put_tag (struct buf *b, uint32_t field, enum proto_wire wire);
/* a varint field (uint64, int64, bool, enum); int32 values are passed
 * sign-extended, as protobuf encodes them */
int proto_put_uint (struct buf *b, uint32_t field, uint64_t v);
int proto_put_uint_opt (struct buf *b, uint32_t field, uint64_t v);
int proto_put_fixed64 (struct buf *b, uint32_t field, uint64_t v);
/* a length-delimited field: bytes, string or an encoded submessage */
int proto_put_bytes (struct buf *b, uint32_t field, const void *data,
                     size_t len);
int proto_put_string (struct buf *b, uint32_t field, const char *s);
int proto_put_string_opt (struct buf *b, uint32_t field, const char *s);
int proto_put_message (struct buf *b, uint32_t field, const struct buf *msg);

struct proto_reader
{
  const uint8_t *p, *end;
};

struct proto_field
{
  uint32_t number;
  enum proto_wire wire;
  uint64_t value;      /* PROTO_VARINT, PROTO_FIXED64, PROTO_FIXED32 */
  const uint8_t *data; /* PROTO_LEN: the bytes, inside the reader's */
  size_t len;
};

void proto_reader_init (struct proto_reader *r, const void *data, size_t len);

/* 1 and *out filled, 0 at the end, or -1 with *err (EBADMSG) naming the
 * offset from the start of what r covers. */
int proto_next (struct proto_reader *r, const void *start,
                struct proto_field *out, ohr_error_t *err);

#endif
