/* proto.c: see proto.h */
#include "cache/proto.h"

#include <errno.h>
#include <string.h>

int
proto_put_varint (struct buf *b, uint64_t v)
{
  uint8_t tmp[10];
  size_t n = 0;
  do
    {
      tmp[n] = (uint8_t)(v & 0x7f);
      v >>= 7;
      if (v)
        tmp[n] |= 0x80;
      n++;
    }
  while (v);
  return buf_add (b, tmp, n);
}

int
proto_put_tag (struct buf *b, uint32_t field, enum proto_wire wire)
{
  return proto_put_varint (b, ((uint64_t)field << 3) | (uint64_t)wire);
}

int
proto_put_uint (struct buf *b, uint32_t field, uint64_t v)
{
  return proto_put_tag (b, field, PROTO_VARINT) < 0 ? -1
                                                    : proto_put_varint (b, v);
}

int
proto_put_uint_opt (struct buf *b, uint32_t field, uint64_t v)
{
  return v ? proto_put_uint (b, field, v) : 0;
}

int
proto_put_fixed64 (struct buf *b, uint32_t field, uint64_t v)
{
  uint8_t le[8];
  for (int i = 0; i < 8; i++)
    le[i] = (uint8_t)(v >> (8 * i));
  return proto_put_tag (b, field, PROTO_FIXED64) < 0 ? -1 : buf_add (b, le, 8);
}

int
proto_put_bytes (struct buf *b, uint32_t field, const void *data, size_t len)
{
  if (proto_put_tag (b, field, PROTO_LEN) < 0 || proto_put_varint (b, len) < 0)
    return -1;
  return buf_add (b, data, len);
}

int
proto_put_string (struct buf *b, uint32_t field, const char *s)
{
  return proto_put_bytes (b, field, s, strlen (s));
}

int
proto_put_string_opt (struct buf *b, uint32_t field, const char *s)
{
  return s && *s ? proto_put_string (b, field, s) : 0;
}

int
proto_put_message (struct buf *b, uint32_t field, const struct buf *msg)
{
  return proto_put_bytes (b, field, msg->data ? msg->data : "", msg->len);
}

void
proto_reader_init (struct proto_reader *r, const void *data, size_t len)
{
  r->p = data;
  r->end = r->p + len;
}

static int
bad (ohr_error_t *err, const struct proto_reader *r, const void *start,
     const char *what)
{
  return ohr_error_set (err, EBADMSG, OHR_ERR_INTERNAL,
                        "malformed protobuf at byte %td: %s",
                        (const uint8_t *)r->p - (const uint8_t *)start, what);
}

static int
read_varint (struct proto_reader *r, uint64_t *out)
{
  uint64_t v = 0;
  for (int i = 0; i < 10; i++)
    {
      if (r->p >= r->end)
        return -1;
      uint8_t c = *r->p++;
      /* the tenth byte holds bit 63 alone */
      if (i == 9 && c > 1)
        return -1;
      v |= (uint64_t)(c & 0x7f) << (7 * i);
      if (!(c & 0x80))
        {
          *out = v;
          return 0;
        }
    }
  return -1;
}

int
proto_next (struct proto_reader *r, const void *start, struct proto_field *out,
            ohr_error_t *err)
{
  if (r->p >= r->end)
    return 0;
  uint64_t tag;
  if (read_varint (r, &tag) < 0)
    return bad (err, r, start, "truncated or overlong tag");
  uint64_t number = tag >> 3;
  if (number == 0 || number > 0x1fffffff)
    return bad (err, r, start, "invalid field number");
  struct proto_field f
      = { .number = (uint32_t)number, .wire = (enum proto_wire) (tag & 7) };
  switch (tag & 7)
    {
    case PROTO_VARINT:
      if (read_varint (r, &f.value) < 0)
        return bad (err, r, start, "truncated or overlong varint");
      break;
    case PROTO_FIXED64:
    case PROTO_FIXED32:
      {
        size_t n = (tag & 7) == PROTO_FIXED64 ? 8 : 4;
        if ((size_t)(r->end - r->p) < n)
          return bad (err, r, start, "truncated fixed-width value");
        for (size_t i = 0; i < n; i++)
          f.value |= (uint64_t)r->p[i] << (8 * i);
        r->p += n;
        break;
      }
    case PROTO_LEN:
      {
        uint64_t len;
        if (read_varint (r, &len) < 0)
          return bad (err, r, start, "truncated or overlong length");
        if (len > (uint64_t)(r->end - r->p))
          return bad (err, r, start, "length past the end");
        f.data = r->p;
        f.len = (size_t)len;
        r->p += len;
        break;
      }
    default:
      return bad (err, r, start, "unsupported wire type");
    }
  *out = f;
  return 1;
}
